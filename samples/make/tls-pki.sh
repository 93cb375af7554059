#!/usr/bin/env bash
# Test PKI for the TLS samples, made with the openssl command line only.
#
# usage: tls-pki.sh [DIR]        (default /tmp/wsf-pki; DIR is emptied first)
#
#   root.pem            "wsforensics Test Root CA"          RSA 2048, self-signed
#   intermediate.pem    "wsforensics Test Intermediate CA"  EC P-256, signed by the root
#   leaf-ec.pem         localhost, ws.test, 127.0.0.1        EC P-256, by the intermediate
#   leaf-rsa.pem        localhost, ws.test, 127.0.0.1        RSA 2048, by the intermediate
#   expired.pem         localhost, ws.test, 127.0.0.1        RSA 2048, valid 2024-01-01 to 2025-01-01
#   wrong-name.pem      other.test only                      EC P-256, by the intermediate
#   rogue-root.pem      "wsforensics Rogue Root CA"          EC P-256, self-signed, trusted by nobody
#   rogue-leaf.pem      localhost, ws.test, 127.0.0.1        EC P-256, signed by the rogue root
#   client.pem          "wsforensics Test Client" (clientAuth) EC P-256, by the intermediate
# Each NAME.pem has NAME.key beside it (PKCS#8, unencrypted). A server sends
# NAME-chain.pem: the leaf, then the intermediate (rogue-leaf-chain.pem is
# the rogue leaf alone: its issuer is a root, which servers do not send).
# The expired leaf is made with `openssl ca -startdate/-enddate`, because
# OpenSSL 3.0's `x509 -req` has no -not_before/-not_after.
#
# The keys stay out of git: run this again for new ones. The certificates
# the committed captures carry are in samples/tls-pki/ (copied from the DIR
# the captures were made with, by tls-samples.sh), with their facts in
# samples/tls-pki/certs.json (make/tls_certs.py).
set -euo pipefail
DIR="${1:-/tmp/wsf-pki}"
rm -rf "$DIR"
mkdir -p "$DIR"
cd "$DIR"

cat > ext.cnf <<'EOF'
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, DNS:ws.test, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[wrong_name]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

# `openssl ca` wants a database and a config of its own (only for the
# expired leaf).
mkdir -p ca
: > ca/index.txt
cat > ca.cnf <<EOF
[ca]
default_ca = inter
[inter]
dir = $DIR/ca
database = \$dir/index.txt
new_certs_dir = \$dir
certificate = $DIR/intermediate.pem
private_key = $DIR/intermediate.key
default_md = sha256
policy = any
unique_subject = no
rand_serial = yes
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
EOF

key() {  # key NAME rsa|ec
    case "$2" in
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null ;;
        ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" ;;
    esac
}
serial() { echo "0x$(openssl rand -hex 12)"; }

# self_signed NAME KEYTYPE CN
self_signed() {
    key "$1" "$2"
    openssl req -new -x509 -key "$1.key" -subj "/O=wsforensics/CN=$3" -days 3650 \
        -sha256 -set_serial "$(serial)" -extensions root -config <(cat /etc/ssl/openssl.cnf ext.cnf) \
        -out "$1.pem"
}

# signed NAME KEYTYPE SUBJECT ISSUER EXTENSIONS
signed() {
    key "$1" "$2"
    openssl req -new -key "$1.key" -subj "$3" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -set_serial "$(serial)" \
        -days 825 -sha256 -extfile ext.cnf -extensions "$5" -out "$1.pem" 2>/dev/null
}

self_signed root rsa "wsforensics Test Root CA"
signed intermediate ec "/O=wsforensics/CN=wsforensics Test Intermediate CA" root intermediate
signed leaf-ec ec "/O=wsforensics/CN=localhost" intermediate server
signed leaf-rsa rsa "/O=wsforensics/CN=localhost" intermediate server
signed wrong-name ec "/O=wsforensics/CN=other.test" intermediate wrong_name
signed client ec "/O=wsforensics/CN=wsforensics Test Client" intermediate client
self_signed rogue-root ec "wsforensics Rogue Root CA"
signed rogue-leaf ec "/O=wsforensics/CN=localhost" rogue-root server

# The expired leaf: a fixed validity in the past.
key expired rsa
openssl req -new -key expired.key -subj "/O=wsforensics/CN=localhost" -out expired.csr
openssl ca -batch -config ca.cnf -notext -preserveDN -md sha256 \
    -startdate 20240101000000Z -enddate 20250101000000Z \
    -extfile ext.cnf -extensions server -in expired.csr -out expired.pem 2>/dev/null

for n in leaf-ec leaf-rsa expired wrong-name client; do
    cat "$n.pem" intermediate.pem > "$n-chain.pem"
done
cp rogue-leaf.pem rogue-leaf-chain.pem
cat root.pem intermediate.pem > ca-bundle.pem

# Check what was meant: the valid ones verify, the others fail as planned.
v() { openssl verify -CAfile root.pem -untrusted intermediate.pem "$@" 2>&1 || true; }
for n in leaf-ec leaf-rsa wrong-name client; do
    v "$n.pem" | grep -q ': OK$' || { echo "$n does not verify" >&2; exit 1; }
done
v expired.pem | grep -q "certificate has expired" || { echo "expired.pem is not expired" >&2; exit 1; }
v rogue-leaf.pem | grep -q "unable to get local issuer" || { echo "rogue-leaf.pem verifies" >&2; exit 1; }
v -verify_hostname ws.test wrong-name.pem | grep -q "hostname mismatch" \
    || { echo "wrong-name.pem matches ws.test" >&2; exit 1; }
rm -f ./*.csr
echo "test PKI in $DIR:"
for n in root intermediate leaf-ec leaf-rsa expired wrong-name rogue-root rogue-leaf client; do
    printf '  %-17s %s\n' "$n.pem" "$(openssl x509 -in "$n.pem" -noout -subject -nameopt RFC2253)"
done

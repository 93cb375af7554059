#!/usr/bin/env bash
# Loopback captures of real TLS software failing (and succeeding) to connect,
# one capture per way, on ports 8840-8854, each capture filtered to its port:
#   tls12-expired.pcap              openssl s_client -> s_server -tls1_2, expired leaf
#   tls13-expired.pcap              curl -> s_server -tls1_3, expired leaf
#   tls13-expired-gnutls.pcap       gnutls-cli -> s_server -tls1_3, expired leaf
#   tls-unknown-ca.pcap             Python ssl -> nginx (TLSv1.2), leaf of a rogue root
#   tls-name-mismatch.pcap          Node tls.connect -> s_server -tls1_2, leaf for other.test
#   tls-name-mismatch-13.pcap       the same with s_server -tls1_3
#   tls13-only-client.pcap          s_client -tls1_3 -> nginx with ssl_protocols TLSv1.2
#   tls12-only-client.pcap          curl --tls-max 1.2 -> s_server -tls1_3
#   tls-no-shared-cipher.pcap       s_client (ECDHE-ECDSA-CHACHA20) -> s_server (ECDHE-RSA-AES256-GCM), TLS 1.2
#   tls-client-cert-required.pcap   s_client without a cert -> s_server -Verify 1 -tls1_2
#   tls13-client-cert-required.pcap Python ssl without a cert -> s_server -Verify 1 -tls1_3
#   wss-clean.pcap                  Node ws -> Python websockets (wss), 2 echoes, close 1000;
#                                   the server writes the TLS secrets to samples/wss-clean.keys
#   wss-asyncio-reject.pcap         Node ws with no `ca` (Node's own roots) -> Python websockets (wss)
#   tls-curl-nginx-ok.pcap          curl --tlsv1.3 -> nginx, one GET, 200
#   tls-nginx-no-client-cert.pcap   curl without a cert -> nginx with ssl_verify_client on
#   tls13-hello-retry.pcap          curl (groups P-256, X25519; key share P-256) -> s_server
#                                   -groups X25519: HelloRetryRequest, then a 200
# (ports: 8840-8853 in this order, 8854 for tls13-expired-gnutls, 8855 for
# tls13-hello-retry; 8879 for an
# uncaptured rerun of wss-asyncio-reject with asyncio out of debug mode)
# With arguments, makes only the captures named (e.g. `tls-samples.sh tls12-expired`).
#
# The test PKI comes from make/tls-pki.sh in $PKI (default /tmp/wsf-pki; made
# if missing). A new PKI means new certificates: remake every capture then,
# since the PEMs copied to samples/tls-pki/ (and certs.json) must be the ones
# the captures carry. Every program's own output (stdout and stderr; nginx's
# error log) is kept in $LOGS (default samples/tls-logs), as NAME.client.log
# and NAME.server.log, with the TLS secrets of each connection in NSS key
# log format as NAME.keys (from whichever peers can write them: s_server
# and s_client -keylogfile, curl's, Python's and GnuTLS's SSLKEYLOGFILE,
# node --tls-keylog, the websockets server's keylog_filename; nginx writes
# none). wss-clean's secrets are samples/wss-clean.keys instead.
# Needs openssl, curl, gnutls-cli (Debian's gnutls-bin), nginx, tcpdump,
# iproute2's ss, python3 + websockets, node + ws 8 where NODE_PATH points
# (default /tmp/wsnode/node_modules).
source "$(dirname "$0")/lib.sh"
export NODE_PATH="${NODE_PATH:-/tmp/wsnode/node_modules}"
PKI="${PKI:-/tmp/wsf-pki}"
LOGS="${LOGS:-$OUT/tls-logs}"
PY="$HERE/tls_peers.py"
JS="$HERE/tls_node.js"
ONLY="$*"
NGX_PREFIX="$(mktemp -d /tmp/wsf-nginx-tls.XXXXXX)"
trap 'cleanup; rm -rf "$NGX_PREFIX"' EXIT
[ -n "$ONLY" ] || rm -f "$LOGS"/*.log "$LOGS"/*.keys
mkdir -p "$LOGS" "$OUT/tls-pki"
[ -f "$PKI/root.pem" ] || "$HERE/tls-pki.sh" "$PKI"
P="$PKI"

{
    openssl version
    curl --version | head -1
    gnutls-cli --version | head -1
    nginx -v 2>&1
    python3 -c 'import ssl, sys, websockets; print("python", sys.version.split()[0], ssl.OPENSSL_VERSION, "websockets", websockets.__version__)'
    node -e 'console.log("node", process.version, "OpenSSL", process.versions.openssl, "ws", require("ws/package.json").version)'
    tcpdump --version 2>&1 | head -1
} > "$LOGS/versions.txt"
cat "$LOGS/versions.txt"

# Waits until tcpdump says it is listening, not a fixed sleep. Immediate
# mode: with libpcap's default TPACKET_V3 ring, packets of a short session
# can still sit in an unfinished block when tcpdump is stopped (this once
# gave a capture with no packets at all).
start_capture_ready() {
    local file="$1" log; shift
    log=$(mktemp)
    tcpdump -U --immediate-mode -w "$file" "$@" 2>"$log" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
    rm -f "$log"
    sleep 0.3
}

wait_listen() {  # wait_listen PORT
    for _ in $(seq 100); do
        ss -Hltn "sport = :$1" | grep -q . && return 0
        sleep 0.1
    done
    echo "nothing listens on $1" >&2
    return 1
}

# nginx_cmd NAME PORT CERT KEY PROTOCOLS [EXTRA]: writes the config, prints
# nothing; sets NGX_DIR. The command to run is then "${NGX[@]}".
nginx_conf() {
    NGX_DIR="$NGX_PREFIX/$1"
    mkdir -p "$NGX_DIR"
    sed -e "s|@PREFIX@|$NGX_DIR|g" -e "s|@PORT@|$2|g" -e "s|@CERT@|$3|g" -e "s|@KEY@|$4|g" \
        -e "s|@PROTOCOLS@|$5|g" -e "s|@EXTRA@|${6:-}|g" "$HERE/nginx-tls.conf" > "$NGX_DIR/nginx.conf"
    NGX=(nginx -p "$NGX_DIR" -e "$NGX_DIR/error.log" -c "$NGX_DIR/nginx.conf")
}

# case NAME PORT SERVER_CMD... -- CLIENT_CMD...
# The server's stdout and stderr go to NAME.server.log (for nginx, its error
# log is appended when it stops), the client's to NAME.client.log. @KEYS@ in
# either command stands for the key log file, NAME.keys, which the client
# also gets as SSLKEYLOGFILE.
case_() {
    local name="$1" port="$2"; shift 2
    if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
    local keys="$LOGS/$name.keys"
    local srv=() cli=()
    while [ "$1" != "--" ]; do srv+=("${1//@KEYS@/$keys}"); shift; done
    shift
    for a in "$@"; do cli+=("${a//@KEYS@/$keys}"); done
    echo "== $name (port $port)"
    rm -f "$keys"
    local slog="$LOGS/$name.server.log" clog="$LOGS/$name.client.log"
    {
        echo "\$ ${srv[*]}"
    } > "$slog"
    echo "\$ ${cli[*]}" > "$clog"
    start_capture_ready "$OUT/$name.pcap" -i lo -s 0 -B 65536 tcp port "$port"
    timeout 30 "${srv[@]}" </dev/null >>"$slog" 2>&1 &
    local s=$!; PIDS+=("$s")
    wait_listen "$port"
    SSLKEYLOGFILE="$keys" timeout 30 "${cli[@]}" </dev/null >>"$clog" 2>&1 \
        || echo "(exit status $?)" >> "$clog"
    # A server that ends by itself (s_server -naccept 1, the websockets
    # server) gets 3 s; nginx is stopped.
    for _ in $(seq 30); do kill -0 "$s" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$s" 2>/dev/null; then kill -TERM "$s" 2>/dev/null || true; fi
    wait "$s" 2>/dev/null || true
    if [ "${srv[0]}" = nginx ]; then
        { echo "--- nginx error.log"; cat "$NGX_DIR/error.log"
          echo "--- nginx access.log"; cat "$NGX_DIR/access.log"; } >> "$slog"
    fi
    sleep 1
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
    local n ends
    n=$(tcpdump -r "$OUT/$name.pcap" 2>/dev/null | wc -l)
    ends=$(tcpdump -r "$OUT/$name.pcap" 'tcp[tcpflags] & (tcp-fin|tcp-rst) != 0' 2>/dev/null | wc -l)
    echo "== $name: $n packets, $ends with FIN or RST"
    sed 's/^/   client| /' "$clog"
    grep -v "DEBUG\|^  \|^Traceback\|^handle_traceback\|^protocol:\|^transport:\|^ConnectionResetError" "$slog" \
        | sed 's/^/   server| /' | head -30
    [ "$n" -gt 0 ] && [ "$ends" -gt 0 ] || { echo "$name: capture without the end" >&2; exit 1; }
    # (s_client writes a header line even when it has no secret to log.)
    grep -q '^[A-Z]' "$keys" 2>/dev/null || rm -f "$keys"
}

SERVER=(openssl s_server -www -naccept 1 -keylogfile @KEYS@)
NODE=(node --tls-keylog=@KEYS@ "$JS")
CURL=(curl -sS -v --max-time 10 --cacert "$P/root.pem")

# 1. TLS 1.2, expired leaf; s_client verifies and aborts (alert 45 in clear).
case_ tls12-expired 8840 \
    "${SERVER[@]}" -accept 127.0.0.1:8840 -tls1_2 \
        -cert "$P/expired.pem" -key "$P/expired.key" -cert_chain "$P/intermediate.pem" -- \
    openssl s_client -keylogfile @KEYS@ -connect 127.0.0.1:8840 -servername localhost -CAfile "$P/root.pem" \
        -verify_return_error -verify_hostname localhost

# 2. TLS 1.3, expired leaf; curl verifies (OpenSSL sends its alert unencrypted).
case_ tls13-expired 8841 \
    "${SERVER[@]}" -accept 127.0.0.1:8841 -tls1_3 \
        -cert "$P/expired.pem" -key "$P/expired.key" -cert_chain "$P/intermediate.pem" -- \
    "${CURL[@]}" --resolve localhost:8841:127.0.0.1 https://localhost:8841/

# 2b. The same with GnuTLS as the client (its alert is encrypted).
case_ tls13-expired-gnutls 8854 \
    "${SERVER[@]}" -accept 127.0.0.1:8854 -tls1_3 \
        -cert "$P/expired.pem" -key "$P/expired.key" -cert_chain "$P/intermediate.pem" -- \
    gnutls-cli --x509cafile "$P/root.pem" --sni-hostname localhost -p 8854 127.0.0.1

# 3. Leaf of an untrusted root, TLS 1.2 (nginx allows only 1.2); Python ssl.
nginx_conf tls-unknown-ca 8842 "$P/rogue-leaf-chain.pem" "$P/rogue-leaf.key" TLSv1.2
case_ tls-unknown-ca 8842 "${NGX[@]}" -- \
    python3 "$PY" client 127.0.0.1 8842 --sni localhost --cafile "$P/root.pem"

# 4. Leaf for other.test; Node asks for ws.test (TLS 1.2 and TLS 1.3).
case_ tls-name-mismatch 8843 \
    "${SERVER[@]}" -accept 127.0.0.1:8843 -tls1_2 \
        -cert "$P/wrong-name.pem" -key "$P/wrong-name.key" -cert_chain "$P/intermediate.pem" -- \
    "${NODE[@]}" tls 127.0.0.1 8843 ws.test "$P/root.pem" TLSv1.3
case_ tls-name-mismatch-13 8844 \
    "${SERVER[@]}" -accept 127.0.0.1:8844 -tls1_3 \
        -cert "$P/wrong-name.pem" -key "$P/wrong-name.key" -cert_chain "$P/intermediate.pem" -- \
    "${NODE[@]}" tls 127.0.0.1 8844 ws.test "$P/root.pem" TLSv1.3

# 5. Client offers only TLS 1.3, nginx allows only TLS 1.2.
nginx_conf tls13-only-client 8845 "$P/leaf-ec-chain.pem" "$P/leaf-ec.key" TLSv1.2
case_ tls13-only-client 8845 "${NGX[@]}" -- \
    openssl s_client -keylogfile @KEYS@ -connect 127.0.0.1:8845 -servername localhost -tls1_3 -CAfile "$P/root.pem"

# 6. Client limited to TLS 1.2, server TLS 1.3 only.
case_ tls12-only-client 8846 \
    "${SERVER[@]}" -accept 127.0.0.1:8846 -tls1_3 \
        -cert "$P/leaf-rsa.pem" -key "$P/leaf-rsa.key" -cert_chain "$P/intermediate.pem" -- \
    "${CURL[@]}" --tls-max 1.2 --resolve localhost:8846:127.0.0.1 https://localhost:8846/

# 7. TLS 1.2 with no cipher in common (RSA server, ECDSA-only client).
case_ tls-no-shared-cipher 8847 \
    "${SERVER[@]}" -accept 127.0.0.1:8847 -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384 \
        -cert "$P/leaf-rsa.pem" -key "$P/leaf-rsa.key" -cert_chain "$P/intermediate.pem" -- \
    openssl s_client -keylogfile @KEYS@ -connect 127.0.0.1:8847 -servername localhost -tls1_2 \
        -cipher ECDHE-ECDSA-CHACHA20-POLY1305 -CAfile "$P/root.pem"

# 8. The server requires a client certificate; the client has none.
case_ tls-client-cert-required 8848 \
    "${SERVER[@]}" -accept 127.0.0.1:8848 -tls1_2 -Verify 1 -CAfile "$P/root.pem" \
        -cert "$P/leaf-ec.pem" -key "$P/leaf-ec.key" -cert_chain "$P/intermediate.pem" -- \
    openssl s_client -keylogfile @KEYS@ -connect 127.0.0.1:8848 -servername localhost -CAfile "$P/root.pem"
case_ tls13-client-cert-required 8849 \
    "${SERVER[@]}" -accept 127.0.0.1:8849 -tls1_3 -Verify 1 -CAfile "$P/root.pem" \
        -cert "$P/leaf-ec.pem" -key "$P/leaf-ec.key" -cert_chain "$P/intermediate.pem" -- \
    python3 "$PY" client 127.0.0.1 8849 --sni localhost --cafile "$P/root.pem"

# 9. A clean wss session; the server writes its TLS secrets (NSS key log).
if [ -z "$ONLY" ] || [[ " $ONLY " == *" wss-clean "* ]]; then rm -f "$OUT/wss-clean.keys"; fi
case_ wss-clean 8850 \
    python3 "$PY" wss-server 8850 --cert "$P/leaf-ec-chain.pem" --key "$P/leaf-ec.key" \
        --keylog "$OUT/wss-clean.keys" -- \
    node "$JS" wss wss://localhost:8850/chat "$P/root.pem"

# 10. Node ws with its built-in roots only, against a test-PKI certificate.
case_ wss-asyncio-reject 8851 \
    python3 "$PY" wss-server 8851 --cert "$P/leaf-ec-chain.pem" --key "$P/leaf-ec.key" --lifetime 4 \
        --keylog @KEYS@ -- \
    "${NODE[@]}" wss wss://localhost:8851/chat -

# 10b. Not captured: the same once more with asyncio in its default mode
# (no debug), to record that the server then logs nothing at all.
if [ -z "$ONLY" ] || [[ " $ONLY " == *" wss-asyncio-reject "* ]]; then
    log="$LOGS/wss-asyncio-reject.server-nodebug.log"
    echo "\$ python3 $PY wss-server 8879 ... --no-debug (not captured)" > "$log"
    timeout 30 python3 "$PY" wss-server 8879 --cert "$P/leaf-ec-chain.pem" --key "$P/leaf-ec.key" \
        --lifetime 3 --no-debug >>"$log" 2>&1 &
    s=$!; PIDS+=("$s")
    wait_listen 8879
    timeout 30 node "$JS" wss wss://localhost:8879/chat - >/dev/null 2>&1 || true
    wait "$s" 2>/dev/null || true
fi

# 11. A plain HTTPS success: curl -> nginx, TLS 1.3.
nginx_conf tls-curl-nginx-ok 8852 "$P/leaf-ec-chain.pem" "$P/leaf-ec.key" TLSv1.3
case_ tls-curl-nginx-ok 8852 "${NGX[@]}" -- \
    "${CURL[@]}" --tlsv1.3 --resolve localhost:8852:127.0.0.1 https://localhost:8852/

# 12. nginx with ssl_verify_client on and a client without a certificate.
nginx_conf tls-nginx-no-client-cert 8853 "$P/leaf-ec-chain.pem" "$P/leaf-ec.key" "TLSv1.2 TLSv1.3" \
    "ssl_verify_client on; ssl_client_certificate $P/root.pem;"
case_ tls-nginx-no-client-cert 8853 "${NGX[@]}" -- \
    "${CURL[@]}" --resolve localhost:8853:127.0.0.1 https://localhost:8853/

# 13. A HelloRetryRequest: curl offers P-256 first (its key share), the
# server accepts only X25519 and asks again; then an ordinary GET.
case_ tls13-hello-retry 8855 \
    "${SERVER[@]}" -accept 127.0.0.1:8855 -tls1_3 -groups X25519 \
        -cert "$P/leaf-ec.pem" -key "$P/leaf-ec.key" -cert_chain "$P/intermediate.pem" -- \
    "${CURL[@]}" --tlsv1.3 --curves P-256:X25519 --resolve localhost:8855:127.0.0.1 https://localhost:8855/

# The certificates these captures carry, without their keys.
for n in root intermediate leaf-ec leaf-rsa expired wrong-name rogue-root rogue-leaf client; do
    cp "$P/$n.pem" "$OUT/tls-pki/$n.pem"
done
python3 "$HERE/tls_certs.py" "$OUT/tls-pki"

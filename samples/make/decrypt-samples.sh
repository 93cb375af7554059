#!/usr/bin/env bash
# WebSocket-over-TLS sessions between real programs, each captured with the
# NSS key log (SSLKEYLOGFILE format) of its connection beside it, for
# decrypting wss with a key log. One connection per capture, ports 8864-8873,
# each capture filtered to its port:
#   decrypt-13-aes128-py.pcap     Python websockets -> Python websockets, TLS 1.3
#                                 TLS_AES_128_GCM_SHA256, 3 echoes, client closes 1000
#   decrypt-13-aes256-node.pcap   Node ws -> Node ws, TLS 1.3 TLS_AES_256_GCM_SHA384,
#                                 permessage-deflate on both sides, server closes 1001
#   decrypt-13-chacha-mixed.pcap  Python -> Node, TLS 1.3 TLS_CHACHA20_POLY1305_SHA256,
#                                 server closes 1011 on the first message
#   decrypt-12-aes128-mixed.pcap  Node -> Python, TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256,
#                                 client closes 4001 "session replaced"
#   decrypt-12-aes256-py.pcap     Python -> Python, TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384,
#                                 server closes 1000
#   decrypt-12-chacha-node.pcap   Node -> Node, TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305, one
#                                 20480-byte message, client closes 1000; in a network
#                                 namespace whose loopback has MTU 1500 and no TSO/GSO, so
#                                 the message is many TCP segments (2 TLS records)
#   decrypt-12-rsa-kx.pcap        Python -> Python, TLS 1.2 AES128-GCM-SHA256 (RSA key
#                                 exchange), client closes 1000
#   decrypt-13-killed.pcap        Node -> Python, TLS 1.3 TLS_AES_128_GCM_SHA256; the server
#                                 SIGKILLs itself after one echo
#   decrypt-13-expired.pcap       Python ssl (trusts the test root) -> Python websockets with
#                                 the expired leaf, TLS 1.3: the client rejects it
#   decrypt-13-keyupdate.pcap     Python -> Python, TLS 1.3 TLS_AES_256_GCM_SHA384; the server
#                                 calls SSL_key_update (ctypes) before its 2nd echo, then
#                                 the client closes 1000
# With arguments, makes only the captures named (e.g. `decrypt-samples.sh
# decrypt-13-killed`).
#
# decrypt-NAME.keys is the CLIENT's key log (Python's ssl keylog_filename,
# node --tls-keylog); the server's own key log of the same connection is
# $LOGS/decrypt-NAME.server.keys (make/decrypt_facts.py compares the two).
# Every program's output is $LOGS/decrypt-NAME.{client,server}.log (default
# $LOGS = samples/decrypt-logs). The TLS version and suite are pinned on
# both sides: Python with minimum_version = maximum_version, set_ciphers for
# TLS 1.2 and, for TLS 1.3 (Python 3.11's ssl has no way to set TLS 1.3
# suites), an OPENSSL_CONF file whose system_default has `Ciphersuites`;
# Node with minVersion = maxVersion and `ciphers`. At the end
# make/decrypt_facts.py writes samples/decrypt-NAME.pcap.decrypt.json.
#
# The test PKI comes from make/tls-pki.sh in $PKI (default /tmp/wsf-pki, made
# if missing). Needs tcpdump, tshark, iproute2 (ss, ip netns), ethtool,
# python3 + websockets, node + ws 8 where NODE_PATH points (default
# /tmp/wsnode/node_modules).
source "$(dirname "$0")/lib.sh"
export NODE_PATH="${NODE_PATH:-/tmp/wsnode/node_modules}"
PKI="${PKI:-/tmp/wsf-pki}"
LOGS="${LOGS:-$OUT/decrypt-logs}"
PY="$HERE/decrypt_peers.py"
JS="$HERE/decrypt_node.js"
ONLY="$*"
NS=wsf-decrypt-mtu
TMP="$(mktemp -d /tmp/wsf-decrypt.XXXXXX)"
netns_down() { ip netns del "$NS" 2>/dev/null || true; }
trap 'cleanup; netns_down; rm -rf "$TMP"' EXIT
[ -n "$ONLY" ] || rm -f "$LOGS"/decrypt-*.log "$LOGS"/decrypt-*.keys
mkdir -p "$LOGS"
[ -f "$PKI/root.pem" ] || "$HERE/tls-pki.sh" "$PKI"
P="$PKI"

{
    python3 -c 'import ssl, sys, websockets; print("python", sys.version.split()[0], ssl.OPENSSL_VERSION, "websockets", websockets.__version__)'
    node -e 'console.log("node", process.version, "OpenSSL", process.versions.openssl, "ws", require("ws/package.json").version)'
    tcpdump --version 2>&1 | head -2 | tr '\n' ' '; echo
    tshark --version | head -1
    echo "linux $(uname -r)"
} > "$LOGS/versions.txt"
cat "$LOGS/versions.txt"

# OpenSSL configs that leave one TLS 1.3 suite (for the Python peers).
for s in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
    cat > "$TMP/$s.cnf" <<EOF
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = $s
EOF
done
suite13() { echo "env OPENSSL_CONF=$TMP/$1.cnf"; }

# Immediate mode, and wait until tcpdump says it is listening (see tls-samples.sh).
start_capture_ready() {
    local file="$1" log; shift
    log=$(mktemp)
    $IN tcpdump -U --immediate-mode -w "$file" "$@" 2>"$log" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
    rm -f "$log"
    sleep 0.3
}

wait_listen() {  # wait_listen PORT
    for _ in $(seq 100); do
        $IN ss -Hltn "sport = :$1" | grep -q . && return 0
        sleep 0.1
    done
    echo "nothing listens on $1" >&2
    return 1
}

# case_ NAME PORT SERVER_CMD... -- CLIENT_CMD...
# @KEYS@ stands for the client's key log (samples/NAME.keys), @SKEYS@ for the
# server's ($LOGS/NAME.server.keys). $IN (empty, or `ip netns exec NS`)
# prefixes tcpdump, ss and both peers.
case_() {
    local name="$1" port="$2"; shift 2
    if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
    local keys="$OUT/$name.keys" skeys="$LOGS/$name.server.keys"
    local srv=() cli=() a
    while [ "$1" != "--" ]; do a="${1//@KEYS@/$keys}"; srv+=("${a//@SKEYS@/$skeys}"); shift; done
    shift
    for a in "$@"; do a="${a//@KEYS@/$keys}"; cli+=("${a//@SKEYS@/$skeys}"); done
    echo "== $name (port $port${IN:+, $IN})"
    rm -f "$keys" "$skeys"
    local slog="$LOGS/$name.server.log" clog="$LOGS/$name.client.log"
    echo "\$ ${srv[*]}" > "$slog"
    echo "\$ ${cli[*]}" > "$clog"
    start_capture_ready "$OUT/$name.pcap" -i lo -s 0 -B 65536 tcp port "$port"
    # (In decrypt-13-killed the server SIGKILLs itself; timeout then kills
    # itself the same way and bash reports "Killed".)
    $IN timeout 30 "${srv[@]}" </dev/null >>"$slog" 2>&1 &
    local s=$!; PIDS+=("$s")
    wait_listen "$port"
    $IN timeout 30 "${cli[@]}" </dev/null >>"$clog" 2>&1 || echo "(exit status $?)" >> "$clog"
    # The servers end by themselves after their one connection (or after
    # their lifetime); 20 s at most.
    for _ in $(seq 200); do kill -0 "$s" 2>/dev/null || break; sleep 0.1; done
    local rc=0
    wait "$s" 2>/dev/null || rc=$?
    [ "$rc" = 0 ] || echo "(exit status $rc)" >> "$slog"
    sleep 1
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
    local n ends
    n=$(tcpdump -r "$OUT/$name.pcap" 2>/dev/null | wc -l)
    ends=$(tcpdump -r "$OUT/$name.pcap" 'tcp[tcpflags] & (tcp-fin|tcp-rst) != 0' 2>/dev/null | wc -l)
    echo "== $name: $n packets, $ends with FIN or RST, $(stat -c %s "$OUT/$name.pcap") bytes"
    grep -v "^  \|Warning: Using --tls-keylog\|--trace-warnings" "$clog" | sed 's/^/   client| /'
    grep -v "^  \|Warning: Using --tls-keylog\|--trace-warnings" "$slog" | sed 's/^/   server| /' | head -40
    [ "$n" -gt 0 ] && [ "$ends" -gt 0 ] || { echo "$name: capture without the end" >&2; exit 1; }
    [ -s "$keys" ] || { echo "$name: no key log" >&2; exit 1; }
    chmod 644 "$keys" "$skeys" 2>/dev/null || true  # node writes them 0600
}

IN=
PYSRV=(python3 "$PY" server)
PYCLI=(python3 "$PY" client)
NODESRV=(node --tls-keylog=@SKEYS@ "$JS" server)
NODECLI=(node --tls-keylog=@KEYS@ "$JS" client)
EC=("$P/leaf-ec-chain.pem" "$P/leaf-ec.key")
RSA=("$P/leaf-rsa-chain.pem" "$P/leaf-rsa.key")

# 1. Python -> Python, TLS 1.3 AES-128-GCM, 3 echoes, client closes 1000.
S=TLS_AES_128_GCM_SHA256
case_ decrypt-13-aes128-py 8864 \
    $(suite13 $S) "${PYSRV[@]}" 8864 --cert "${EC[0]}" --key "${EC[1]}" --keylog @SKEYS@ \
        --tls 1.3 --suite $S -- \
    $(suite13 $S) "${PYCLI[@]}" wss://127.0.0.1:8864/py13 --sni localhost --cafile "$P/root.pem" \
        --keylog @KEYS@ --tls 1.3 --suite $S --messages 3 --close 1000 --reason bye

# 2. Node -> Node, TLS 1.3 AES-256-GCM, permessage-deflate ON (both sides);
#    the server closes 1001 "going away" on the third message.
S=TLS_AES_256_GCM_SHA384
case_ decrypt-13-aes256-node 8865 \
    "${NODESRV[@]}" 8865 "${EC[@]}" --tls 1.3 --ciphers $S --deflate \
        --close-on 3 --code 1001 --reason "going away" -- \
    "${NODECLI[@]}" wss://localhost:8865/node13 "$P/root.pem" localhost --tls 1.3 --ciphers $S \
        --deflate --messages 3

# 3. Python -> Node, TLS 1.3 ChaCha20-Poly1305; the server closes 1011 on
#    the first message (not echoed).
S=TLS_CHACHA20_POLY1305_SHA256
case_ decrypt-13-chacha-mixed 8866 \
    "${NODESRV[@]}" 8866 "${EC[@]}" --tls 1.3 --ciphers $S \
        --close-on 1 --code 1011 --reason "internal error" -- \
    $(suite13 $S) "${PYCLI[@]}" wss://127.0.0.1:8866/mixed13 --sni localhost --cafile "$P/root.pem" \
        --keylog @KEYS@ --tls 1.3 --suite $S --messages 1

# 4. Node -> Python, TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256; the client closes
#    4001 "session replaced" after 2 echoes.
C=ECDHE-RSA-AES128-GCM-SHA256
case_ decrypt-12-aes128-mixed 8867 \
    "${PYSRV[@]}" 8867 --cert "${RSA[0]}" --key "${RSA[1]}" --keylog @SKEYS@ --tls 1.2 --cipher $C -- \
    "${NODECLI[@]}" wss://localhost:8867/mixed12 "$P/root.pem" localhost --tls 1.2 --ciphers $C \
        --messages 2 --close 4001 --reason "session replaced"

# 5. Python -> Python, TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384; the server closes
#    1000 "done" on the third message.
C=ECDHE-RSA-AES256-GCM-SHA384
case_ decrypt-12-aes256-py 8868 \
    "${PYSRV[@]}" 8868 --cert "${RSA[0]}" --key "${RSA[1]}" --keylog @SKEYS@ --tls 1.2 --cipher $C \
        --close-on 3 --code 1000 --reason done -- \
    "${PYCLI[@]}" wss://127.0.0.1:8868/py12 --sni localhost --cafile "$P/root.pem" \
        --keylog @KEYS@ --tls 1.2 --cipher $C --messages 3

# 6. Node -> Node, TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305, one 20480-byte text
#    message (answered with a short "received 20480 bytes"), client closes
#    1000. In a namespace of its own: its loopback gets MTU 1500 and no
#    TSO/GSO, so that the capture shows the real 1448-byte segments.
if [ -z "$ONLY" ] || [[ " $ONLY " == *" decrypt-12-chacha-node "* ]]; then
    netns_down
    ip netns add "$NS"
    ip -n "$NS" link set lo mtu 1500 up
    ip netns exec "$NS" ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    IN="ip netns exec $NS"
fi
C=ECDHE-RSA-CHACHA20-POLY1305
case_ decrypt-12-chacha-node 8869 \
    "${NODESRV[@]}" 8869 "${RSA[@]}" --tls 1.2 --ciphers $C --summarize -- \
    "${NODECLI[@]}" wss://localhost:8869/big "$P/root.pem" localhost --tls 1.2 --ciphers $C \
        --messages 1 --size 20480 --close 1000 --reason bye
IN=
netns_down

# 7. Python -> Python, TLS 1.2 with RSA key exchange (AES128-GCM-SHA256, no
#    ECDHE), client closes 1000 after 2 echoes.
C=AES128-GCM-SHA256
case_ decrypt-12-rsa-kx 8870 \
    "${PYSRV[@]}" 8870 --cert "${RSA[0]}" --key "${RSA[1]}" --keylog @SKEYS@ --tls 1.2 --cipher $C -- \
    "${PYCLI[@]}" wss://127.0.0.1:8870/rsa --sni localhost --cafile "$P/root.pem" \
        --keylog @KEYS@ --tls 1.2 --cipher $C --messages 2 --close 1000 --reason bye

# 8. Node -> Python, TLS 1.3 AES-128-GCM; the server sends itself SIGKILL
#    after its first echo: no Close frame, no close_notify.
S=TLS_AES_128_GCM_SHA256
case_ decrypt-13-killed 8871 \
    $(suite13 $S) "${PYSRV[@]}" 8871 --cert "${EC[0]}" --key "${EC[1]}" --keylog @SKEYS@ \
        --tls 1.3 --suite $S --kill-after 1 -- \
    "${NODECLI[@]}" wss://localhost:8871/killed "$P/root.pem" localhost --tls 1.3 --ciphers $S \
        --messages 1

# 9. Python -> Python websockets with the expired leaf (2024-01-01 to
#    2025-01-01, chain with the intermediate), TLS 1.3 AES-256-GCM: the
#    client's verification fails. Its key log has the handshake secrets only.
S=TLS_AES_256_GCM_SHA384
case_ decrypt-13-expired 8872 \
    $(suite13 $S) "${PYSRV[@]}" 8872 --cert "$P/expired-chain.pem" --key "$P/expired.key" \
        --keylog @SKEYS@ --tls 1.3 --suite $S --lifetime 4 --asyncio-debug -- \
    $(suite13 $S) "${PYCLI[@]}" wss://127.0.0.1:8872/expired --sni localhost --cafile "$P/root.pem" \
        --keylog @KEYS@ --tls 1.3 --suite $S --messages 1 --close 1000

# 10. Python -> Python, TLS 1.3 AES-256-GCM, KeyUpdate (update_requested)
#     from the server before its second echo; the client answers with its
#     own KeyUpdate before its third message, then closes 1000.
case_ decrypt-13-keyupdate 8873 \
    $(suite13 $S) "${PYSRV[@]}" 8873 --cert "${EC[0]}" --key "${EC[1]}" --keylog @SKEYS@ \
        --tls 1.3 --suite $S --key-update-after 2 -- \
    $(suite13 $S) "${PYCLI[@]}" wss://127.0.0.1:8873/keyupdate --sni localhost --cafile "$P/root.pem" \
        --keylog @KEYS@ --tls 1.3 --suite $S --messages 3 --close 1000 --reason bye

names=()
for f in "$OUT"/decrypt-*.pcap; do
    n=$(basename "$f" .pcap)
    if [ -z "$ONLY" ] || [[ " $ONLY " == *" $n "* ]]; then names+=("$n"); fi
done
python3 "$HERE/decrypt_facts.py" "${names[@]}"

#!/usr/bin/env bash
# Captures of real clients retrying: refused and unanswered SYNs, repeated
# failed TLS handshakes, and happy eyeballs, on ports 8860-8863:
#   ws-retry-refused.pcap   websockets client with its automatic reconnection
#                           (`async for ws in connect(...)`) -> ws://127.0.0.1:8860,
#                           whose server is started 0.5 s after it: SYN, RST a few times,
#                           then one echo and Close 1000.
#   wss-retry-expired.pcap  the same client (trusting the test root) ->
#                           wss://localhost:8861, a websockets server with the
#                           EXPIRED leaf of the test PKI: 4 failed handshakes in
#                           a row, the 4th failure made fatal by the client.
#   ws-happy-eyeballs.pcap  Node 20 `ws` client -> ws://localhost:8862 in a
#                           namespace whose /etc/hosts maps localhost to ::1 and
#                           127.0.0.1; the websockets server listens on
#                           127.0.0.1 only: ::1 refused, 127.0.0.1 used.
#   ws-syn-dropped.pcap     client namespace -- veth -- server namespace with
#                           10.77.8.2 and 10.77.8.3, a websockets server on both
#                           at 8863, nftables dropping SYNs to 10.77.8.3: one
#                           session to .2, then a 2.5 s open timeout on .3.
# With arguments, makes only the captures named (e.g. `retry-samples.sh
# ws-syn-dropped`). Every program's output is kept in $LOGS (default
# samples/retry-logs) as NAME.client.log and NAME.server.log (the first line
# of each is the command); then make/retry_facts.py writes each capture's
# .retry.json and make/facts.py its .facts.json.
#
# Retry timing: websockets 17.4 reads WEBSOCKETS_BACKOFF_INITIAL_DELAY,
# _MIN_DELAY, _FACTOR and _MAX_DELAY when it is imported (client.py); its
# first delay is random.random() * INITIAL_DELAY, then MIN_DELAY,
# MIN_DELAY * FACTOR, ... Here 0.3, 0.2 and 1.25: 0-0.3 s, 0.2, 0.25, 0.31...
# Needs tcpdump, tshark, iproute2 (ip, ss), nftables, util-linux (unshare,
# mount), python3 + websockets, node 20 + ws 8 where NODE_PATH points
# (default /tmp/wsnode/node_modules), and the test PKI of make/tls-pki.sh in
# $PKI (default /tmp/wsf-pki; it must be the PKI of samples/tls-pki/, which
# this script checks: it never makes a new one).
source "$(dirname "$0")/lib.sh"
export NODE_PATH="${NODE_PATH:-/tmp/wsnode/node_modules}"
PKI="${PKI:-/tmp/wsf-pki}"
LOGS="${LOGS:-$OUT/retry-logs}"
PY="$HERE/retry_peers.py"
JS="$HERE/retry_node.js"
ONLY="$*"
TMP="$(mktemp -d /tmp/wsf-retry.XXXXXX)"
HE=wsf-he; SDC=wsf-sd-c; SDS=wsf-sd-s
netns_down() { for n in $HE $SDC $SDS; do ip netns del $n 2>/dev/null || true; done; }
trap 'cleanup; netns_down; rm -rf "$TMP"' EXIT
netns_down
mkdir -p "$LOGS"
for n in root expired intermediate; do
    cmp -s "$PKI/$n.pem" "$OUT/tls-pki/$n.pem" || { echo "$PKI/$n.pem is not samples/tls-pki/$n.pem" >&2; exit 1; }
done

export WEBSOCKETS_BACKOFF_INITIAL_DELAY=0.3 WEBSOCKETS_BACKOFF_MIN_DELAY=0.2 WEBSOCKETS_BACKOFF_FACTOR=1.25

want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
# FACTS_ONLY=1: write the .retry.json and .facts.json of the existing
# captures again from them and the logs, without capturing.
capture() { [ -z "${FACTS_ONLY:-}" ] && want "$1"; }

[ -n "${FACTS_ONLY:-}" ] || {
    python3 -c 'import ssl, sys, websockets; print("python", sys.version.split()[0], ssl.OPENSSL_VERSION, "websockets", websockets.__version__)'
    node -e 'console.log("node", process.version, "OpenSSL", process.versions.openssl, "ws", require("ws/package.json").version)'
    tcpdump --version 2>&1 | head -1
    tshark --version | head -1
    nft --version
    uname -sr
    env | grep '^WEBSOCKETS_BACKOFF' | sort
} > "$LOGS/versions.txt"
cat "$LOGS/versions.txt"

# capture_start FILE NETNS|- ARGS...: tcpdump (immediate mode) in NETNS, and
# wait until it says it is listening.
capture_start() {
    local file="$1" ns="$2" log; shift 2
    log=$(mktemp)
    if [ "$ns" = - ]; then
        timeout 60 tcpdump -U --immediate-mode -s 0 -B 65536 -w "$file" "$@" 2>"$log" &
    else
        timeout 60 ip netns exec "$ns" tcpdump -U --immediate-mode -s 0 -B 65536 -w "$file" "$@" 2>"$log" &
    fi
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
    grep -q "listening on" "$log" || { cat "$log" >&2; exit 1; }
    rm -f "$log"
    sleep 0.3
}

capture_stop() {  # capture_stop NAME
    sleep 0.5
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
    local n
    n=$(tcpdump -r "$OUT/$1.pcap" 2>/dev/null | wc -l)
    echo "== $1: $n packets, $(stat -c %s "$OUT/$1.pcap") bytes"
    [ "$n" -gt 0 ] || { echo "$1: empty capture" >&2; exit 1; }
    for f in "$LOGS/$1".*.log; do
        grep -v '^  \|^Traceback\|^handle_traceback\|^protocol:\|^transport:\|^ConnectionResetError\|^NET .*_read\|^NET .*createConnection' "$f" \
            | grep -v '^ \|^\]\|^}' | sed "s#^#   $(basename "$f" .log | sed 's/.*\.//')| #"
    done
}

# run LOG CMD...: the command line, then everything the program prints.
run() {
    local log="$1"; shift
    echo "\$ $*" > "$log"
    "$@" </dev/null >>"$log" 2>&1
}

wait_listen() {  # wait_listen NETNS|- PORT
    local ss=(ss); [ "$1" = - ] || ss=(ip netns exec "$1" ss)
    for _ in $(seq 100); do
        "${ss[@]}" -Hltn "sport = :$2" | grep -q . && return 0
        sleep 0.1
    done
    echo "nothing listens on $2" >&2; return 1
}

# 1. Refused, refused, ..., then the server is up.
if capture ws-retry-refused; then
    N=ws-retry-refused
    capture_start "$OUT/$N.pcap" - -i lo tcp port 8860
    run "$LOGS/$N.client.log" timeout 20 python3 "$PY" client ws://127.0.0.1:8860/chat &
    C=$!; PIDS+=("$C")
    sleep 0.5
    run "$LOGS/$N.server.log" timeout 20 python3 "$PY" server 127.0.0.1 8860 --connections 1 &
    S=$!; PIDS+=("$S")
    wait "$C" || echo "(client exit status $?)" >> "$LOGS/$N.client.log"
    wait "$S" || true
    capture_stop $N
fi

# 2. The same client against a server with an expired certificate.
if capture wss-retry-expired; then
    N=wss-retry-expired
    rm -f "$LOGS/$N.keys"
    capture_start "$OUT/$N.pcap" - -i lo tcp port 8861
    run "$LOGS/$N.server.log" timeout 20 python3 "$PY" server 127.0.0.1 8861 \
        --cert "$PKI/expired-chain.pem" --key "$PKI/expired.key" --lifetime 4 &
    S=$!; PIDS+=("$S")
    wait_listen - 8861
    SSLKEYLOGFILE="$LOGS/$N.keys" run "$LOGS/$N.client.log" timeout 20 python3 "$PY" client \
        wss://localhost:8861/chat --cafile "$PKI/root.pem" --attempts 4 \
        || echo "(client exit status $?)" >> "$LOGS/$N.client.log"
    wait "$S" || true
    capture_stop $N
fi

# 3. Happy eyeballs: localhost is ::1 and 127.0.0.1, the server is on IPv4 only.
# The namespace's hosts file is bind-mounted over /etc/hosts in a private
# mount namespace for the client only (the host's /etc is not touched).
if capture ws-happy-eyeballs; then
    N=ws-happy-eyeballs
    ip netns add $HE
    ip -n $HE link set lo up
    printf '::1\tlocalhost\n127.0.0.1\tlocalhost\n' > "$TMP/hosts"
    capture_start "$OUT/$N.pcap" $HE -i lo tcp port 8862
    run "$LOGS/$N.server.log" timeout 20 ip netns exec $HE python3 "$PY" server 127.0.0.1 8862 --connections 1 &
    S=$!; PIDS+=("$S")
    wait_listen $HE 8862
    run "$LOGS/$N.client.log" timeout 20 ip netns exec $HE unshare -m --propagation private \
        sh -c "mount --bind '$TMP/hosts' /etc/hosts && cat /etc/hosts && NODE_DEBUG=net exec node '$JS' ws://localhost:8862/chat" \
        || echo "(client exit status $?)" >> "$LOGS/$N.client.log"
    wait "$S" || true
    capture_stop $N
    ip netns del $HE
fi

# 4. Two server addresses, SYNs to one of them dropped.
if capture ws-syn-dropped; then
    N=ws-syn-dropped
    ip netns add $SDC; ip netns add $SDS
    ip -n $SDC link set lo up; ip -n $SDS link set lo up
    ip link add wsf-sdc type veth peer name wsf-sds
    ip link set wsf-sdc netns $SDC; ip link set wsf-sds netns $SDS
    ip -n $SDC addr add 10.77.8.1/24 dev wsf-sdc
    ip -n $SDS addr add 10.77.8.2/24 dev wsf-sds
    ip -n $SDS addr add 10.77.8.3/24 dev wsf-sds
    ip -n $SDC link set wsf-sdc up; ip -n $SDS link set wsf-sds up
    ip netns exec $SDS nft -f - <<'NFT'
table inet wsf_drop {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr 10.77.8.3 tcp dport 8863 tcp flags & (syn|ack) == syn counter drop
  }
}
NFT
    capture_start "$OUT/$N.pcap" $SDC -i wsf-sdc tcp port 8863
    run "$LOGS/$N.server.log" timeout 20 ip netns exec $SDS python3 "$PY" server 10.77.8.2,10.77.8.3 8863 \
        --connections 1 --lifetime 8 &
    S=$!; PIDS+=("$S")
    wait_listen $SDS 8863
    run "$LOGS/$N.client.log" timeout 20 ip netns exec $SDC python3 "$PY" client ws://10.77.8.2:8863/chat \
        --no-reconnect || echo "(client exit status $?)" >> "$LOGS/$N.client.log"
    sleep 0.3
    run "$TMP/second.log" timeout 20 ip netns exec $SDC python3 "$PY" client ws://10.77.8.3:8863/chat \
        --no-reconnect --open-timeout 2.5 || echo "(client exit status $?)" >> "$TMP/second.log"
    cat "$TMP/second.log" >> "$LOGS/$N.client.log"
    sleep 0.5
    capture_stop $N
    { echo "--- nft list ruleset (server namespace)"; ip netns exec $SDS nft list ruleset; } >> "$LOGS/$N.server.log"
    wait "$S" || true
    netns_down
fi

# Facts.
F="python3 $HERE/facts.py"
R="python3 $HERE/retry_facts.py"
OK="TCP/IP checksums are mostly not filled in (checksum offload), as in any capture taken on the sending host."
if want ws-retry-refused; then
    N=ws-retry-refused
    $R "$OUT/$N.pcap" --decode-as tcp.port==8860,http --log "client=$LOGS/$N.client.log" --log "server=$LOGS/$N.server.log" \
        --notes "websockets 17.4 client, automatic reconnection with WEBSOCKETS_BACKOFF_INITIAL_DELAY=0.3, _MIN_DELAY=0.2, _FACTOR=1.25; the websockets echo server on 127.0.0.1:8860 was started 0.5 s after the client (listening about 0.65 s after it). Each refused attempt is a new TCP connection (new source port): SYN, then RST+ACK from the kernel."
    $F "$OUT/$N.pcap" --notes "Python websockets client with automatic reconnection to ws://127.0.0.1:8860/chat while no server listens: every SYN is answered by RST (connection refused); then the websockets server starts, the next attempt connects, one 'hello' echoed, client closes with 1000 'bye'. $OK"
fi
if want wss-retry-expired; then
    N=wss-retry-expired
    $R "$OUT/$N.pcap" --decode-as tcp.port==8861,tls --log "client=$LOGS/$N.client.log" --log "server=$LOGS/$N.server.log" \
        --notes "websockets 17.4 client (ssl context trusting the test root), automatic reconnection with the same backoff variables; websockets treats ssl.SSLCertVerificationError (an OSError) as retryable; the client's process_exception makes the 4th failure fatal. Server: websockets echo server with the expired leaf (2024-01-01 to 2025-01-01) and the intermediate, asyncio in debug mode. The client sends NO alert: on each connection its only data is the ClientHello, and its FIN follows the server's flight by ~1 ms. OpenSSL does write the alert (a plaintext record 15 03 03 00 02 02 2d, certificate_expired, found in the outgoing memory BIO of an ssl.SSLObject handshake against s_server with the same leaf), but asyncio's sslproto (Python 3.11) calls _fatal_error after a failed do_handshake without flushing that BIO. The server side logs, in asyncio debug mode only, 'SSL handshake failed' (ConnectionResetError) and 'Error on transport creation for incoming connection'; websockets logs nothing about these connections. With the client's key log (retry-logs/wss-retry-expired.keys, from SSLKEYLOGFILE) tshark decrypts each server flight: its Certificate message carries the expired leaf (localhost, ws.test; 2024-01-01 to 2025-01-01) and the intermediate, and no stream holds an alert record, in the clear or encrypted."
    $F "$OUT/$N.pcap" --notes "Python websockets client with automatic reconnection to wss://localhost:8861/chat (the server's leaf expired 2025-01-01): four TLS 1.3 handshakes in a row, each on a new TCP connection, each abandoned by the client after the server's flight with a bare FIN and no alert (asyncio drops the alert OpenSSL produced). $OK"
fi
if want ws-happy-eyeballs; then
    N=ws-happy-eyeballs
    $R "$OUT/$N.pcap" --decode-as tcp.port==8862,http --log "client=$LOGS/$N.client.log" --log "server=$LOGS/$N.server.log" \
        --happy-eyeballs localhost:0,1 \
        --notes "Node 20.20.2 ws 8.23.0 client, ws://localhost:8862/chat, no family option: net.connect's autoSelectFamily (default true in Node 20) with dns.lookup order verbatim: ::1 first (refused by RST), then 127.0.0.1 at once. The name localhost is on the wire only in the IPv4 stream's Host header; the script gives it for the happy_eyeballs entry."
    $F "$OUT/$N.pcap" --notes "Node ws client, localhost = ::1 and 127.0.0.1, websockets server on 127.0.0.1:8862 only: SYN to [::1]:8862 answered by RST, then a SYN to 127.0.0.1:8862 at once, upgrade, one 'hello' echoed, client closes with 1000 'bye'. $OK"
fi
if want ws-syn-dropped; then
    N=ws-syn-dropped
    $R "$OUT/$N.pcap" --decode-as tcp.port==8863,http --log "client=$LOGS/$N.client.log" --log "server=$LOGS/$N.server.log" \
        --notes "Captured on the client's veth. nftables in the server namespace drops SYNs (syn without ack) to 10.77.8.3:8863 in its input hook; the websockets server listens on 10.77.8.2 and 10.77.8.3. Two runs of the websockets client (no reconnection): the first to .2, the second to .3 with open_timeout 2.5 s, during which the kernel sent the SYN and two retransmissions about 1 s apart (Linux 6.18 with net.ipv4.tcp_syn_linear_timeouts=4, the default since 6.5: the first four SYN retransmissions are not backed off); at 2.5 s websockets raised TimeoutError and closed the socket in SYN-SENT, which sends nothing, so the capture just ends."
    $F "$OUT/$N.pcap" --notes "websockets client 10.77.8.1 in a namespace, servers at 10.77.8.2:8863 and 10.77.8.3:8863 in another; nftables there drops SYNs to 10.77.8.3. Stream 0: one 'hello' echoed, close 1000 'bye'. Stream 1: SYN and two retransmissions ~1 s apart (Linux SYN linear timeouts), never answered; the client's open timeout (2.5 s) ends it without a packet. $OK"
fi
python3 "$HERE/pcapcheck.py"

#!/usr/bin/env bash
# Snapshot-length captures of whole sessions (the capture starts first, so
# SYN and upgrade are in it): the same traffic captured at once by three
# tcpdump processes on lo, -s 96, -s 128 and -s 0 (the last one only in
# $FULL, default /tmp/wsf-field-full, to decode the traffic with tshark;
# not committed).
#   snap-ws-96.pcap, snap-ws-128.pcap    plain ws on 127.0.0.1:8910-8915, one
#                                         session after the other:
#     8910 Python client, client Close 1000 "client done"     (client-1000)
#     8911 Python client, server Close 1001 "going away"      (server-1001)
#     8912 Node ws client, client Close 4000 "app shutdown"   (client-4000)
#     8913 Python client, upgrade refused with HTTP 403       (refuse-403)
#     8914 Python client, server process SIGKILLed            (server-killed)
#     8915 Python client, text messages of 1500, 5000 and 100000 bytes,
#          then client Close 1000 "client done"               (big-1000)
#   snap-wss-96.pcap, snap-wss-128.pcap  wss (TLS 1.3) on 8920-8923, the test
#                                         PKI of make/tls-pki.sh in $PKI:
#     8920 client Close 1000, 8921 server Close 1001, 8922 server Close 4000
#          (Python websockets asyncio client, trusting the test root, to
#          wss://localhost:PORT; server leaf-ec + intermediate);
#     8923 the server has rogue-leaf (the untrusted rogue root): websockets'
#          sync client rejects it and its ssl socket sends unknown_ca (48).
# The websockets servers write the TLS secrets to field-logs/snap-wss.keys
# (NSS key log), which decrypts the full capture. Servers are Python
# websockets. Then make/field_truth.py writes each capture's .truth.json
# from the full capture (frames found again in the cut ones) and
# make/facts.py its .facts.json.
# PKI: $PKI (default /tmp/wsf-field-pki) is made with make/tls-pki.sh if it
# has no root.pem; the certificates used are copied to samples/field-pki/.
source "$(dirname "$0")/lib.sh"
source "$HERE/field-lib.sh"
FULL="${FULL:-/tmp/wsf-field-full}"
PKI="${PKI:-/tmp/wsf-field-pki}"
mkdir -p "$FULL" "$OUT/field-pki"
[ -f "$PKI/root.pem" ] || "$HERE/tls-pki.sh" "$PKI" >/dev/null
versions

# session NAME PORT SCENARIO KIND [client args...]: one server, one client,
# both waited for.
session() {
    local name="$1" port="$2" scen="$3" kind="$4"; shift 4
    local srv=() url
    case "$name" in
        snap-wss)
            if [ "$scen" = tls-reject ]; then
                srv=(--cert "$PKI/rogue-leaf-chain.pem" --key "$PKI/rogue-leaf.key")
            else
                srv=(--cert "$PKI/leaf-ec-chain.pem" --key "$PKI/leaf-ec.key")
            fi
            srv+=(--keylog "$LOGS/snap-wss.keys")
            url="wss://localhost:$port/field/$scen" ;;
        *) url="ws://127.0.0.1:$port/field/$scen" ;;
    esac
    # A server whose handler never runs waits out its lifetime.
    case "$scen" in refuse-403|tls-reject) srv+=(--lifetime 2) ;; *) srv+=(--lifetime 8) ;; esac
    py_server "$name" "$port" "$scen" --hold 0.5 "${srv[@]}"
    if [ "$kind" = node ]; then
        node_client "$name" "$port" "$scen" "$url" - 0.5
    else
        py_client "$name" "$port" "$scen" "$url" --hold 0.5 "$@"
    fi
    wait_all
    sleep 0.3
}

# run NAME FILTER: starts the three captures.
run_caps() {
    local name="$1" filter="$2"
    cap_tcpdump "$OUT/$name-96.pcap" -i lo -s 96 -B 65536 $filter
    cap_tcpdump "$OUT/$name-128.pcap" -i lo -s 128 -B 65536 $filter
    cap_tcpdump "$FULL/$name-full.pcap" -i lo -s 0 -B 65536 $filter
    caps_ready
    sleep 0.3
}

rm -f "$LOGS"/snap-ws-*.log
run_caps snap-ws "tcp portrange 8910-8915"
session snap-ws 8910 client-1000 py
session snap-ws 8911 server-1001 py
session snap-ws 8912 client-4000 node
session snap-ws 8913 refuse-403 py
session snap-ws 8914 server-killed py
session snap-ws 8915 big-1000 py
stop_caps

rm -f "$LOGS"/snap-wss-*.log "$LOGS/snap-wss.keys"
run_caps snap-wss "tcp portrange 8920-8923"
session snap-wss 8920 client-1000 py --cafile "$PKI/root.pem"
session snap-wss 8921 server-1001 py --cafile "$PKI/root.pem"
session snap-wss 8922 server-4000 py --cafile "$PKI/root.pem"
session snap-wss 8923 tls-reject py --cafile "$PKI/root.pem"
stop_caps

for n in root intermediate leaf-ec rogue-root rogue-leaf; do cp "$PKI/$n.pem" "$OUT/field-pki/$n.pem"; done
for f in "$OUT"/snap-ws-96.pcap "$OUT"/snap-ws-128.pcap "$FULL"/snap-ws-full.pcap \
         "$OUT"/snap-wss-96.pcap "$OUT"/snap-wss-128.pcap "$FULL"/snap-wss-full.pcap; do
    echo "$(basename "$f"): $(tcpdump -r "$f" 2>/dev/null | wc -l) packets"
done

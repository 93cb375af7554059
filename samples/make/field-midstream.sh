#!/usr/bin/env bash
# Mid-stream captures, as when a capture is started on a busy host: seven
# WebSocket sessions on 127.0.0.1:8900-8906 are opened and exchange
# messages FIRST; only then do tcpdump (midstream-ws.pcap) and dumpcap
# (midstream-ws.pcapng) start, both at once, on lo with the same filter. No
# SYN and no HTTP upgrade is in either capture. Once both capture, the
# script creates the go file: every session keeps talking (a text message,
# a binary message and a ping every 0.1 s) for 1.5 s, then ends its own way
# (see field_peers.py for the scenarios):
#   8900 Python client, server Close 1001 "going away"      (server-1001)
#   8901 Node ws client, client Close 1000 "client done"    (client-1000)
#   8902 Python client, server Close 4000 "session expired" (server-4000)
#   8903 Node ws client, server handler raises: 1011        (server-1011)
#   8904 Python client process SIGKILLed: no Close frame    (client-killed)
#   8905 Python client, permessage-deflate, client Close 1000 "done" (deflate-1000)
#   8906 Python client silent after go; server Close 1001, client echo (idle-1001)
# The servers are Python websockets. Each endpoint's output is in
# samples/field-logs/midstream-PORT-{client,server}.log; then
# make/field_truth.py writes the .truth.json files and make/facts.py the
# .facts.json files (see samples/README.md, "Field-shaped captures").
source "$(dirname "$0")/lib.sh"
source "$HERE/field-lib.sh"
versions
GO="$WORK/go"
FILTER="tcp portrange 8900-8906"
N=midstream
rm -f "$LOGS"/$N-*.log
declare -A SC=([8900]=server-1001 [8901]=client-1000 [8902]=server-4000 [8903]=server-1011
               [8904]=client-killed [8905]=deflate-1000 [8906]=idle-1001)
for port in 8900 8901 8902 8903 8904 8905 8906; do
    py_server $N $port "${SC[$port]}" --go "$GO" --hold 1.5
done
for port in 8900 8901 8902 8903 8904 8905 8906; do
    url="ws://127.0.0.1:$port/field/${SC[$port]}"
    case $port in
        8901|8903) node_client $N $port "${SC[$port]}" "$url" "$GO" 1.5 ;;
        *) py_client $N $port "${SC[$port]}" "$url" --go "$GO" --hold 1.5 ;;
    esac
done
# Every client connected, then ~1 s of traffic nobody captures.
for _ in $(seq 100); do
    [ "$(grep -l ' connected to ' "$LOGS"/$N-*-client.log | wc -l)" -eq 7 ] && break
    sleep 0.1
done
sleep 1.2
cap_tcpdump "$OUT/midstream-ws.pcap" -i lo -s 0 -B 65536 $FILTER
cap_dumpcap -i lo -f "$FILTER" -w "$OUT/midstream-ws.pcapng"
caps_ready
sleep 0.3
touch "$GO"
echo "go at $(date +%s.%N)" > "$LOGS/$N-go.txt"
wait_all
sleep 0.5
stop_caps
for f in midstream-ws.pcap midstream-ws.pcapng; do
    chmod 644 "$OUT/$f"
    echo "$f: $(tshark -r "$OUT/$f" 2>/dev/null | wc -l) packets, $(tshark -r "$OUT/$f" -Y 'tcp.flags.syn==1' 2>/dev/null | wc -l) SYN"
done

#!/usr/bin/env bash
# Python websockets client and server over 127.0.0.1:8765: 3 text and 3
# binary messages of 64 bytes, echoed, then the client closes with 1000.
# Also makes the nanosecond, SLL, SLL2, gzip, zstd and truncated variants.
source "$(dirname "$0")/lib.sh"

start_capture "$OUT/ws-loopback.pcap" -i lo -s 0 tcp port 8765
ws_session 127.0.0.1 8765 ws://127.0.0.1:8765/chat
stop_capture

start_capture "$OUT/ws-nano.pcap" -i lo -s 0 --time-stamp-precision=nano tcp port 8766
ws_session 127.0.0.1 8766 ws://127.0.0.1:8766/nano --messages 2 --close 1001
stop_capture

start_capture "$OUT/ws-sll.pcap" -i any -y LINUX_SLL -s 0 tcp port 8767
ws_session 127.0.0.1 8767 ws://127.0.0.1:8767/sll --messages 2
stop_capture

start_capture "$OUT/ws-sll2.pcap" -i any -y LINUX_SLL2 -s 0 tcp port 8768
ws_session 127.0.0.1 8768 ws://127.0.0.1:8768/sll2 --messages 2
stop_capture

start_capture "$OUT/ws-ipv6.pcap" -i lo -s 0 ip6 and tcp port 8769
ws_session ::1 8769 "ws://[::1]:8769/v6" --messages 2 --size 300
stop_capture

gzip -9 -c "$OUT/ws-loopback.pcap" > "$OUT/ws-loopback.pcap.gz"
zstd -q -19 -f "$OUT/ws-loopback.pcap" -o "$OUT/ws-loopback.pcap.zst"
# Cut 30 bytes into the last record, as if tcpdump had been killed.
python3 "$HERE/truncate.py" "$OUT/ws-loopback.pcap" "$OUT/ws-truncated.pcap" 30

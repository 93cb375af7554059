#!/usr/bin/env bash
# One loopback capture per way a Python websockets session can end (see
# ws_codes.py): ws-1009.pcap, ws-1011.pcap, ws-1008.pcap, ws-1012.pcap,
# ws-4403.pcap, ws-killed-server.pcap, ws-403.pcap, ws-404.pcap.
source "$(dirname "$0")/lib.sh"
port=8780
for pair in too-big:ws-1009 internal:ws-1011 policy:ws-1008 restart:ws-1012 app:ws-4403 \
            killed:ws-killed-server forbidden:ws-403 notfound:ws-404; do
    mode=${pair%%:*}; name=${pair#*:}
    start_capture "$OUT/$name.pcap" -i lo -s 0 -B 65536 tcp port $port
    timeout 30 python3 "$HERE/ws_codes.py" server $port $mode &
    srv=$!; PIDS+=("$srv"); sleep 0.7
    timeout 30 python3 "$HERE/ws_codes.py" client $port $mode
    wait "$srv" 2>/dev/null || true
    stop_capture
    port=$((port + 1))
done

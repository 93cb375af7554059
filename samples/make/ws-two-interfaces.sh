#!/usr/bin/env bash
# pcapng with two interfaces of different link types: dumpcap captures lo
# (Ethernet) for one websockets session on port 8770 and "any" (Linux
# cooked, SLL) for another on port 8771, each interface with its own
# capture filter, while both sessions run at the same time.
source "$(dirname "$0")/lib.sh"
dumpcap -q -i lo -f "tcp port 8770" -i any -f "tcp port 8771" -w "$OUT/ws-two-interfaces.pcapng" 2>/dev/null &
CAP_PID=$!; PIDS+=("$CAP_PID"); sleep 1.5
ws_session 127.0.0.1 8770 ws://127.0.0.1:8770/one --messages 2 &
ONE=$!
ws_session 127.0.0.1 8771 ws://127.0.0.1:8771/two --messages 3 --close 1001
wait "$ONE"
stop_capture

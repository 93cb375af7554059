#!/usr/bin/env bash
# Loopback capture of an idle WebSocket session through nginx with its
# default proxy_read_timeout (60 s) and a rewritten path, ports 8837-8838:
#   ws-nginx-rewrite-60s.pcap  websockets client -> nginx :8837, GET /ws/echo
#                              -> nginx proxies it as GET /echo (with
#                              X-Forwarded-For) -> websockets echo server
#                              :8838. One echo, then silence: after 60 s
#                              nginx closes both legs without a Close frame.
#                              Both legs captured.
# Needs nginx (Debian's nginx-light), tcpdump, python3 + websockets. Takes
# about 65 s. Logs (nginx error/access, both peers) go to $LOGS (default
# /tmp/wsf-rewrite-logs).
source "$(dirname "$0")/lib.sh"
LOGS="${LOGS:-/tmp/wsf-rewrite-logs}"
NGX="$(mktemp -d /tmp/wsf-nginx.XXXXXX)"
rm -rf "$LOGS"; mkdir -p "$LOGS"
trap 'cleanup; rm -rf "$NGX"' EXIT
PEERS="$HERE/ws_proxy_peers.py"
nginx -v 2>&1 | tee "$LOGS/versions.txt"
python3 -c 'import sys, websockets; print("python", sys.version.split()[0], "websockets", websockets.__version__)' \
    | tee -a "$LOGS/versions.txt"

start_capture "$OUT/ws-nginx-rewrite-60s.pcap" -i lo -s 0 -B 65536 'tcp port 8837 or tcp port 8838'
timeout 90 python3 "$PEERS" server 8838 --wait 80 > "$LOGS/server.log" 2>&1 &
SRV=$!; PIDS+=("$SRV")
sed -e "s|@PREFIX@|$NGX|g" -e "s|@PORT@|8837|g" -e "s|@BACKEND@|8838|g" \
    "$HERE/nginx-rewrite.conf" > "$NGX/nginx.conf"
timeout 90 nginx -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" &
NGX_PID=$!; PIDS+=("$NGX_PID")
for _ in $(seq 50); do ss -Hltn "sport = :8837" | grep -q . && break; sleep 0.1; done
sleep 0.5
timeout 90 python3 "$PEERS" client ws://127.0.0.1:8837/ws/echo idle --wait 75 | tee "$LOGS/client.log"
wait "$SRV" 2>/dev/null || true
stop_capture
kill -TERM "$NGX_PID" 2>/dev/null || true; wait "$NGX_PID" 2>/dev/null || true
cp "$NGX/error.log" "$LOGS/nginx-error.log"; cp "$NGX/access.log" "$LOGS/nginx-access.log"

#!/usr/bin/env bash
# Loopback captures of WebSocket sessions through nginx, and of protocol
# violations, on ports 8830-8836 (every capture filtered to its own ports):
#   ws-nginx-timeout.pcap     websockets client -> nginx :8830 (proxy_read_timeout
#                             3s) -> websockets echo server :8831, no keepalive
#                             pings: after one echo the session is idle and
#                             nginx closes both legs without a Close frame.
#                             Both legs captured.
#   ws-bad-accept.pcap        websockets client -> nginx :8832, which overwrites
#                             Sec-WebSocket-Key -> websockets server :8833: the
#                             101's accept value does not match the client's key
#                             and the client drops the connection. Both legs.
#   ws-violations.pcap        ws_raw_peer.py -> websockets echo server :8834, six
#                             connections, one RFC 6455 violation each.
#   ws-keepalive-upgrade.pcap ws_raw_peer.py -> nginx :8835: GET /health answered
#                             by nginx (keep-alive), then on the same connection
#                             the upgrade of /ws, proxied to websockets :8836,
#                             one echo, Close 1000. Client leg only.
# Needs nginx (Debian's nginx-light will do), tcpdump, python3 + websockets.
# nginx runs in the foreground from a private prefix under /tmp (never
# /etc/nginx). The software's own logs (nginx error/access logs, websockets
# and ws_raw_peer.py output) are kept in $LOGS (default /tmp/wsf-proxy-logs).
source "$(dirname "$0")/lib.sh"
LOGS="${LOGS:-/tmp/wsf-proxy-logs}"
NGX_PREFIX="$(mktemp -d /tmp/wsf-nginx.XXXXXX)"
rm -rf "$LOGS"; mkdir -p "$LOGS"
trap 'cleanup; rm -rf "$NGX_PREFIX"' EXIT
PEERS="$HERE/ws_proxy_peers.py"
RAW="$HERE/ws_raw_peer.py"
nginx -v 2>&1 | tee "$LOGS/versions.txt"
python3 -c 'import sys, websockets; print("python", sys.version.split()[0], "websockets", websockets.__version__)' \
    | tee -a "$LOGS/versions.txt"

# start_nginx NAME TEMPLATE PORT BACKEND: nginx in the foreground with its own
# prefix; waits until it listens.
start_nginx() {
    local name="$1" tmpl="$2" port="$3" backend="$4" dir="$NGX_PREFIX/$1"
    mkdir -p "$dir"
    sed -e "s|@PREFIX@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@BACKEND@|$backend|g" \
        "$HERE/$tmpl" > "$dir/nginx.conf"
    timeout 60 nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
    NGX_PID=$!
    PIDS+=("$NGX_PID")
    for _ in $(seq 50); do
        ss -Hltn "sport = :$port" | grep -q . && return 0
        sleep 0.1
    done
    echo "nginx did not start on $port" >&2; cat "$dir/error.log" >&2; exit 1
}

stop_nginx() {
    local name="$1"
    kill -TERM "$NGX_PID" 2>/dev/null || true
    wait "$NGX_PID" 2>/dev/null || true
    cp "$NGX_PREFIX/$name/error.log" "$LOGS/$name.nginx-error.log"
    cp "$NGX_PREFIX/$name/access.log" "$LOGS/$name.nginx-access.log"
}

start_server() {  # start_server LOG PORT [--connections N]
    local log="$1"; shift
    timeout 60 python3 "$PEERS" server "$@" > "$log" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    sleep 0.7
}

# 1. nginx read timeout on an idle proxied session.
start_capture "$OUT/ws-nginx-timeout.pcap" -i lo -s 0 -B 65536 'tcp port 8830 or tcp port 8831'
start_server "$LOGS/timeout.server.log" 8831
start_nginx timeout nginx-timeout.conf 8830 8831
timeout 30 python3 "$PEERS" client ws://127.0.0.1:8830/chat idle | tee "$LOGS/timeout.client.log"
wait "$SRV_PID" 2>/dev/null || true
stop_capture
stop_nginx timeout

# 2. nginx overwrites Sec-WebSocket-Key: the accept value cannot match.
start_capture "$OUT/ws-bad-accept.pcap" -i lo -s 0 -B 65536 'tcp port 8832 or tcp port 8833'
start_server "$LOGS/bad-accept.server.log" 8833
start_nginx bad-accept nginx-bad-accept.conf 8832 8833
timeout 30 python3 "$PEERS" client ws://127.0.0.1:8832/chat bad-accept | tee "$LOGS/bad-accept.client.log"
sleep 1
stop_capture
stop_nginx bad-accept
kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true

# 3. Six protocol violations, one connection each, against websockets.
KINDS="rsv1 opcode3 big-ping continuation close-1005 close-1byte"
start_capture "$OUT/ws-violations.pcap" -i lo -s 0 -B 65536 tcp port 8834
start_server "$LOGS/violations.server.log" 8834 --connections 6
for kind in $KINDS; do
    timeout 15 python3 "$RAW" violation 8834 "$kind" | tee -a "$LOGS/violations.client.log"
    sleep 0.3
done
wait "$SRV_PID" 2>/dev/null || true
stop_capture

# 4. Keep-alive GET /health, then the upgrade on the same connection.
start_capture "$OUT/ws-keepalive-upgrade.pcap" -i lo -s 0 -B 65536 tcp port 8835
start_server "$LOGS/keepalive.server.log" 8836
start_nginx keepalive nginx-keepalive.conf 8835 8836
timeout 15 python3 "$RAW" keepalive 8835 | tee "$LOGS/keepalive.client.log"
wait "$SRV_PID" 2>/dev/null || true
stop_capture
stop_nginx keepalive

for f in "$LOGS"/*.log; do echo "== $f"; cat "$f"; done

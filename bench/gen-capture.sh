#!/usr/bin/env bash
# Generate the benchmark capture: real WebSocket traffic between Node `ws`
# servers and a many-connection Node `ws` client on 127.0.0.1, recorded with
# tcpdump on the loopback interface until the file reaches the target size.
#
# Usage: bench/gen-capture.sh [OUTPUT.pcap]
#
# Environment (all optional):
#   WSF_BENCH_DIR      scratch directory           (default /tmp/wsf-bench)
#   WSF_BENCH_BYTES    target capture size, bytes  (default 1100000000)
#   WSF_BENCH_CONNS    concurrent connections      (default 4000)
#   WSF_BENCH_INTERVAL mean ms between a connection's messages (default 2000)
#   WSF_BENCH_PORTS    two server ports; the second speaks permessage-deflate
#                      (default "9800 9801")
#   WSF_BENCH_TIMEOUT  hard limit for the whole generation, seconds (default 900)
#
# Needs: root (tcpdump on lo), node >= 18, npm (installs `ws` into
# $WSF_BENCH_DIR/node, never into the repository). Writes OUTPUT.tmp and
# renames it to OUTPUT only on success; also writes OUTPUT.info (summary).
set -euo pipefail

BENCH_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${WSF_BENCH_DIR:-/tmp/wsf-bench}"
OUT="${1:-$DIR/bench.pcap}"
TARGET="${WSF_BENCH_BYTES:-1100000000}"
CONNS="${WSF_BENCH_CONNS:-4000}"
INTERVAL="${WSF_BENCH_INTERVAL:-2000}"
read -r PORT1 PORT2 <<<"${WSF_BENCH_PORTS:-9800 9801}"
TIMEOUT="${WSF_BENCH_TIMEOUT:-900}"
WS_VERSION="8.23.0"

log() { printf '[gen-capture] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source "$BENCH_SRC/lib.sh"

for tool in node npm tcpdump; do
  command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
done
[ "$(id -u)" = 0 ] || log "warning: not root; tcpdump on lo may fail"

mkdir -p "$DIR" "$(dirname "$OUT")"
install_ws "$DIR" "$WS_VERSION"

# Thousands of sockets per process.
raise_fd_limit "$CONNS"

for p in "$PORT1" "$PORT2"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "something already listens on 127.0.0.1:$p (set WSF_BENCH_PORTS)"
  fi
done

TMP="$OUT.tmp"
LOGDIR="$DIR/logs"
mkdir -p "$LOGDIR"
rm -f "$TMP"
PIDS=()
TCPDUMP_PID=""

cleanup() {
  local rc=$?
  # tcpdump first, so that nothing the teardown does ends up in the capture.
  if [ -n "$TCPDUMP_PID" ] && kill -0 "$TCPDUMP_PID" 2>/dev/null; then
    kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    wait "$TCPDUMP_PID" 2>/dev/null || true
  fi
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$rc" != 0 ]; then
    rm -f "$TMP" "${STATS:-$TMP}.tmp"
    log "failed (exit $rc); logs in $LOGDIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

START=$(date +%s.%N)
DEADLINE=$(( $(date +%s) + TIMEOUT ))

log "capturing tcp port $PORT1 or $PORT2 on lo -> $TMP (target $TARGET bytes)"
tcpdump -i lo -B 65536 -s 0 -n -Z root -w "$TMP" "tcp and (port $PORT1 or port $PORT2)" \
  2>"$LOGDIR/tcpdump.log" &
TCPDUMP_PID=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$LOGDIR/tcpdump.log" 2>/dev/null && break
  kill -0 "$TCPDUMP_PID" 2>/dev/null || die "tcpdump exited: $(cat "$LOGDIR/tcpdump.log")"
  sleep 0.1
done
grep -q 'listening on' "$LOGDIR/tcpdump.log" || die "tcpdump did not start: $(cat "$LOGDIR/tcpdump.log")"

node "$BENCH_SRC/ws-server.js" "$PORT1" >"$LOGDIR/server-$PORT1.log" 2>&1 &
PIDS+=($!)
node "$BENCH_SRC/ws-server.js" "$PORT2" deflate >"$LOGDIR/server-$PORT2.log" 2>&1 &
PIDS+=($!)
for p in "$PORT1" "$PORT2"; do
  for _ in $(seq 100); do
    grep -q listening "$LOGDIR/server-$p.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q listening "$LOGDIR/server-$p.log" || die "server on port $p did not start: $(cat "$LOGDIR/server-$p.log")"
done

STATS="$OUT.client-stats.json"
rm -f "$STATS.tmp"
log "starting client: $CONNS concurrent connections, mean gap ${INTERVAL} ms"
WSB_CONNS="$CONNS" WSB_PORTS="$PORT1,$PORT2" WSB_INTERVAL_MS="$INTERVAL" \
  node "$BENCH_SRC/ws-client.js" "$STATS.tmp" >"$LOGDIR/client.log" 2>&1 &
CLIENT_PID=$!
PIDS+=("$CLIENT_PID")

wait_for_size "$TMP" "$TARGET" "$DEADLINE" "${PIDS[@]}" "$TCPDUMP_PID"

# Snapshot client statistics, then stop the capture while connections are
# still open (they stay open in the capture), then stop the load.
kill -USR2 "$CLIENT_PID" 2>/dev/null || true
sleep 0.1
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
TCPDUMP_PID=""
END=$(date +%s.%N)
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done

captured=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$LOGDIR/tcpdump.log")
received=$(sed -n 's/^\([0-9]*\) packets received by filter.*/\1/p' "$LOGDIR/tcpdump.log")
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$LOGDIR/tcpdump.log")
size=$(stat -c %s "$TMP")
secs=$(awk -v a="$START" -v b="$END" 'BEGIN{printf "%.1f", b-a}')
mv -f "$TMP" "$OUT"
mv -f "$STATS.tmp" "$STATS" 2>/dev/null || true

{
  echo "file: $OUT"
  echo "generated: $(date -u +%Y-%m-%dT%H:%M:%SZ) in ${secs}s"
  echo "bytes: $size"
  echo "packets_captured: ${captured:-?}"
  echo "packets_received_by_filter: ${received:-?}"
  echo "packets_dropped_by_kernel: ${dropped:-?}"
  echo "concurrent_connections: $CONNS"
  echo "ports: $PORT1 (plain) $PORT2 (permessage-deflate offered by ~half the clients)"
  echo "client_stats: $STATS"
} >"$OUT.info"
cat "$OUT.info" >&2
if [ -n "${dropped:-}" ] && [ -n "${captured:-}" ] && [ "$captured" -gt 0 ] &&
  [ $((dropped * 100)) -gt "$captured" ]; then
  log "warning: more than 1% of packets dropped by the kernel; try a larger WSF_BENCH_INTERVAL"
fi

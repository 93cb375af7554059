#!/usr/bin/env bash
# Generate a realistic capture: WebSocket clients and servers in two network
# namespaces joined by a veth pair (MTU 1500, offloads off, so every frame is
# a real Ethernet frame of at most 1514 bytes), ws and wss (TLS 1.2 and 1.3),
# with and without permessage-deflate, thousands of concurrent connections,
# every kind of ending (Close codes, empty Close, FIN and RST without Close,
# HTTP 403, TLS alerts), recorded with tcpdump on the server's veth end until
# the file reaches the target size; plus the ground truth of how every
# connection ended, as its endpoints saw it.
#
# Usage: bench/gen-netns.sh [OUTPUT.pcap]        (default $WSF_BENCH_DIR/netns.pcap)
#
# Writes, next to OUTPUT:
#   OUTPUT.truth.json        one entry per connection, keyed by the client's
#                            ip:port (see bench/netns-truth.py)
#   OUTPUT.keys              TLS key log (NSS format) of every wss session, for
#                            wsforensics --keylog / tshark -o tls.keylog_file:
#   OUTPUT.client-stats.json the Node client's counters
#   OUTPUT.info              summary: size, packets, drops, connections
#
# Environment (all optional):
#   WSF_BENCH_DIR       scratch directory (default /tmp/wsf-bench); certificates,
#                       logs and node modules go to $WSF_BENCH_DIR/netns and
#                       $WSF_BENCH_DIR/node
#   WSF_BENCH_BYTES     target capture size, bytes  (default 1100000000)
#   WSF_BENCH_CONNS     concurrent WebSocket connections (default 3000)
#   WSF_BENCH_INTERVAL  mean ms between a connection's messages (default 2000)
#   WSF_BENCH_TIMEOUT   hard limit for the generation, seconds (default 1500)
#   WSF_NETNS_TLS_FAIL_RATE  handshakes per second that fail with a client
#                       or server alert (tls-fail-client.py; default 10)
#   WSF_NETNS_KEYLOG    1: write OUTPUT.keys (default 1)
#
# Needs: root (namespaces), ip (iproute2), ethtool (apt-get installed if
# missing), tcpdump, openssl, python3, node >= 18 and npm (`ws` goes to
# $WSF_BENCH_DIR/node, never into the repository). Writes OUTPUT.tmp and
# renames it to OUTPUT only on success. Whatever it started (namespaces,
# processes) is removed on exit, failure or interruption.
set -euo pipefail

BENCH_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${WSF_BENCH_DIR:-/tmp/wsf-bench}"
OUT="${1:-$DIR/netns.pcap}"
TARGET="${WSF_BENCH_BYTES:-1100000000}"
CONNS="${WSF_BENCH_CONNS:-3000}"
INTERVAL="${WSF_BENCH_INTERVAL:-2000}"
TIMEOUT="${WSF_BENCH_TIMEOUT:-1500}"
TLS_FAIL_RATE="${WSF_NETNS_TLS_FAIL_RATE:-10}"
KEYLOG="${WSF_NETNS_KEYLOG:-1}"
WS_VERSION="8.23.0"

SRV_NS=wsfb-srv CLI_NS=wsfb-cli
SRV_IF=veth-srv CLI_IF=veth-cli
SRV_IP=10.77.0.1 CLI_IP=10.77.0.2
NAME=ws.bench.test # the servers' certificate name, sent as SNI

log() { printf '[gen-netns] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source "$BENCH_SRC/lib.sh"
# For the background programs: `ip netns exec` execs the program, so $! is
# its pid (a shell function would put a subshell in between).
IN_SRV=(ip netns exec "$SRV_NS")
IN_CLI=(ip netns exec "$CLI_NS")

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, tcpdump)"
for tool in ip tcpdump openssl python3 node npm; do
  command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
done
if ! command -v ethtool >/dev/null; then
  log "installing ethtool"
  { apt-get install -y ethtool >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y ethtool >/dev/null 2>&1; }; } ||
    die "ethtool missing and could not be installed"
fi
for ns in "$SRV_NS" "$CLI_NS"; do
  ! ip netns list | grep -qw "$ns" ||
    die "network namespace $ns exists (left from an earlier run?); remove it: ip netns del $ns"
done

mkdir -p "$DIR" "$(dirname "$OUT")"
install_ws "$DIR" "$WS_VERSION"

raise_fd_limit "$CONNS"

WORK="$DIR/netns"
CERTS="$WORK/certs" LOGDIR="$WORK/logs" TRUTH="$WORK/truth" KEYS="$WORK/keys"
rm -rf "$LOGDIR" "$TRUTH" "$KEYS" "$CERTS"
mkdir -p "$CERTS" "$LOGDIR" "$TRUTH" "$KEYS"
TMP="$OUT.tmp"
rm -f "$TMP"
PIDS=()
TCPDUMP_PID=""
NS_MADE=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  # tcpdump first, so that nothing the teardown does ends up in the capture.
  if [ -n "$TCPDUMP_PID" ] && kill -0 "$TCPDUMP_PID" 2>/dev/null; then
    kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    wait "$TCPDUMP_PID" 2>/dev/null || true
  fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"; done
  if [ "$rc" != 0 ]; then
    rm -f "$TMP" "$OUT.truth.json.tmp" "$OUT.client-stats.json.tmp"
    log "failed (exit $rc); logs in $LOGDIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

START=$(date +%s.%N)
DEADLINE=$(( $(date +%s) + TIMEOUT ))

# --- Certificates, made fresh in the scratch directory -----------------------
# A private CA; leaves for $NAME and $SRV_IP (one EC P-256, one RSA 2048); an
# RSA leaf that expired in 2024 (openssl ca sets any validity period).
log "making certificates in $CERTS"
(
  cd "$CERTS"
  exec 2>>"$LOGDIR/openssl.log"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -keyout ca.key -out ca.crt -subj "/O=wsforensics bench/CN=wsforensics bench CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  san="subjectAltName=DNS:$NAME,IP:$SRV_IP"
  for kind in ec rsa expired; do
    case $kind in
      ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1) ;;
      *) newkey=(-newkey rsa:2048) ;;
    esac
    openssl req -new "${newkey[@]}" -nodes -keyout "$kind.key" -out "$kind.csr" \
      -subj "/O=wsforensics bench/CN=$NAME" -addext "$san" -addext extendedKeyUsage=serverAuth
  done
  for kind in ec rsa; do
    printf '%s\nextendedKeyUsage=serverAuth\n' "$san" >ext.cnf
    openssl x509 -req -in "$kind.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
      -extfile ext.cnf -out "$kind.crt"
  done
  mkdir -p db && : >db/index.txt && echo 1000 >db/serial
  cat >ca.cnf <<EOF
[ca]
default_ca = bench
[bench]
dir = db
database = db/index.txt
new_certs_dir = db
serial = db/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
EOF
  openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt \
    -startdate 20240101000000Z -enddate 20240201000000Z -notext
) || die "certificate generation failed; see $LOGDIR/openssl.log"

# --- Namespaces and the veth pair ---------------------------------------------
log "namespaces $SRV_NS ($SRV_IP, $SRV_IF) and $CLI_NS ($CLI_IP, $CLI_IF)"
ip netns add "$SRV_NS" && NS_MADE+=("$SRV_NS")
ip netns add "$CLI_NS" && NS_MADE+=("$CLI_NS")
ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS"
for side in srv cli; do
  if [ $side = srv ]; then ns=$SRV_NS if=$SRV_IF ip=$SRV_IP; else ns=$CLI_NS if=$CLI_IF ip=$CLI_IP; fi
  # IPv6 off: no router solicitations or MLD reports in the capture.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$if" mtu 1500
  ip -n "$ns" addr add "$ip/24" dev "$if"
  # No segmentation or checksum offloads: the capture sees the frames the
  # wire would carry (<= 1514 bytes, real checksums), not 64 KB super-packets.
  ip netns exec "$ns" ethtool -K "$if" tso off gso off gro off lro off tx off rx off \
    >>"$LOGDIR/ethtool.log" 2>&1 || true
  ip -n "$ns" link set "$if" up
  for f in tcp-segmentation-offload generic-segmentation-offload generic-receive-offload; do
    ip netns exec "$ns" ethtool -k "$if" | grep -q "^$f: off" || die "$f still on for $if"
  done
done
"${IN_CLI[@]}" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
"${IN_SRV[@]}" sysctl -qw net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192
for _ in $(seq 50); do
  ip -n "$CLI_NS" link show "$CLI_IF" | grep -q 'state UP' && break
  sleep 0.1
done
ip -n "$CLI_NS" link show "$CLI_IF" | grep -q 'state UP' || die "$CLI_IF did not come up"

# --- Capture --------------------------------------------------------------------
log "capturing on $SRV_IF in $SRV_NS -> $TMP (target $TARGET bytes)"
"${IN_SRV[@]}" tcpdump -i "$SRV_IF" -s 0 -B 65536 -n -Z root -w "$TMP" 2>"$LOGDIR/tcpdump.log" &
TCPDUMP_PID=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$LOGDIR/tcpdump.log" 2>/dev/null && break
  kill -0 "$TCPDUMP_PID" 2>/dev/null || die "tcpdump exited: $(cat "$LOGDIR/tcpdump.log")"
  sleep 0.1
done
grep -q 'listening on' "$LOGDIR/tcpdump.log" || die "tcpdump did not start: $(cat "$LOGDIR/tcpdump.log")"

# --- Servers --------------------------------------------------------------------
# name port [deflate] [ws-server.js options]
SERVERS=(
  "ws 9800"
  "ws-deflate 9801 deflate"
  "wss-tls12 9802 --cert rsa --tls-min TLSv1.2 --tls-max TLSv1.2"
  "wss-tls13 9803 --cert ec --tls-min TLSv1.3 --tls-max TLSv1.3"
  "wss-tls12-deflate 9804 deflate --cert ec --tls-min TLSv1.2 --tls-max TLSv1.2"
  "wss-tls13-deflate 9805 deflate --cert rsa --tls-min TLSv1.3 --tls-max TLSv1.3"
  "wss-tls12-expired 9806 --cert expired --tls-min TLSv1.2 --tls-max TLSv1.2"
  "wss-tls13-expired 9807 --cert expired --tls-min TLSv1.3 --tls-max TLSv1.3"
  "wss-tls12-mtls 9808 --cert ec --tls-min TLSv1.2 --tls-max TLSv1.2 --client-ca ca"
  "wss-tls13-mtls 9809 --cert rsa --tls-min TLSv1.3 --tls-max TLSv1.3 --client-ca ca"
)
for spec in "${SERVERS[@]}"; do
  read -r name port rest <<<"$spec"
  args=("$port")
  set -- $rest
  while [ $# -gt 0 ]; do
    case $1 in
      deflate) args+=(deflate); shift ;;
      --cert) args+=(--cert "$CERTS/$2.crt" --key "$CERTS/$2.key"); shift 2 ;;
      --client-ca) args+=(--client-ca "$CERTS/$2.crt"); shift 2 ;;
      *) args+=("$1" "$2"); shift 2 ;;
    esac
  done
  args+=(--host "$SRV_IP" --truth "$TRUTH/server-$name.ndjson")
  [ "$KEYLOG" = 1 ] && [[ $name == wss* ]] && args+=(--keylog "$KEYS/$name.keys")
  "${IN_SRV[@]}" node "$BENCH_SRC/ws-server.js" "${args[@]}" >"$LOGDIR/server-$name.log" 2>&1 &
  PIDS+=($!)
done
for spec in "${SERVERS[@]}"; do
  read -r name _ <<<"$spec"
  for _ in $(seq 100); do
    grep -q listening "$LOGDIR/server-$name.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q listening "$LOGDIR/server-$name.log" || die "server $name did not start: $(cat "$LOGDIR/server-$name.log")"
done

# --- Clients --------------------------------------------------------------------
# The Node client spreads its sessions over the six working servers (weights
# in per cent); tls-fail-client.py makes the handshakes that fail with an alert.
WS_TARGETS=$(printf '[%s]' "$(printf '{"name":"%s","url":"%s://'"$SRV_IP"':%s","weight":%s%s},' \
  ws ws 9800 22 "" \
  ws-deflate ws 9801 18 "" \
  wss-tls12 wss 9802 15 ',"tls":"1.2"' \
  wss-tls13 wss 9803 15 ',"tls":"1.3"' \
  wss-tls12-deflate wss 9804 12 ',"tls":"1.2"' \
  wss-tls13-deflate wss 9805 18 ',"tls":"1.3"' | sed 's/,$//')")
FAIL_TARGETS=$(printf '[%s]' "$(printf '{"name":"%s","addr":"'"$SRV_IP"':%s","scenarios":%s},' \
  wss-tls12 9802 '["unknown-ca","name-mismatch"]' \
  wss-tls13 9803 '["unknown-ca","name-mismatch"]' \
  wss-tls12-expired 9806 '["cert-expired"]' \
  wss-tls13-expired 9807 '["cert-expired"]' \
  wss-tls12-mtls 9808 '["client-cert-required"]' \
  wss-tls13-mtls 9809 '["client-cert-required"]' | sed 's/,$//')")

STATS="$OUT.client-stats.json"
rm -f "$STATS.tmp"
log "starting clients: $CONNS concurrent WebSocket connections, $TLS_FAIL_RATE failing TLS handshakes/s"
WSB_CONNS="$CONNS" WSB_INTERVAL_MS="$INTERVAL" WSB_TARGETS="$WS_TARGETS" WSB_BIG=65537 \
  WSB_CA="$CERTS/ca.crt" WSB_SERVERNAME="$NAME" WSB_TRUTH="$TRUTH/client.ndjson" \
  "${IN_CLI[@]}" node "$BENCH_SRC/ws-client.js" "$STATS.tmp" >"$LOGDIR/client.log" 2>&1 &
CLIENT_PID=$!
PIDS+=("$CLIENT_PID")
WSB_CA="$CERTS/ca.crt" WSB_SERVERNAME="$NAME" WSB_TLS_FAIL_RATE="$TLS_FAIL_RATE" \
  "${IN_CLI[@]}" python3 "$BENCH_SRC/tls-fail-client.py" "$FAIL_TARGETS" "$TRUTH/tls-fail-client.ndjson" \
  >"$LOGDIR/tls-fail-client.log" 2>&1 &
PIDS+=($!)

wait_for_size "$TMP" "$TARGET" "$DEADLINE" "${PIDS[@]}" "$TCPDUMP_PID"

# Stop the capture while connections are still open (they stay open in the
# capture), then the load; the load programs write their records of the
# connections still open (t_end null) when they get SIGTERM.
kill -USR2 "$CLIENT_PID" 2>/dev/null || true
STOP_MS=$(date +%s%3N)
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
TCPDUMP_PID=""
END=$(date +%s.%N)
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
PIDS=()

log "merging the endpoints' records into $OUT.truth.json"
python3 "$BENCH_SRC/netns-truth.py" "$STOP_MS" "$OUT.truth.json.tmp" "$TRUTH"/*.ndjson \
  >"$LOGDIR/truth-summary.json" || die "netns-truth.py failed"
if [ "$KEYLOG" = 1 ]; then cat "$KEYS"/*.keys >"$OUT.keys"; else rm -f "$OUT.keys"; fi

captured=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$LOGDIR/tcpdump.log")
received=$(sed -n 's/^\([0-9]*\) packets received by filter.*/\1/p' "$LOGDIR/tcpdump.log")
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$LOGDIR/tcpdump.log")
size=$(stat -c %s "$TMP")
secs=$(awk -v a="$START" -v b="$END" 'BEGIN{printf "%.1f", b-a}')
mv -f "$TMP" "$OUT"
mv -f "$OUT.truth.json.tmp" "$OUT.truth.json"
mv -f "$STATS.tmp" "$STATS" 2>/dev/null || true

{
  echo "file: $OUT"
  echo "generated: $(date -u +%Y-%m-%dT%H:%M:%SZ) in ${secs}s"
  echo "bytes: $size"
  echo "packets_captured: ${captured:-?}"
  echo "packets_received_by_filter: ${received:-?}"
  echo "packets_dropped_by_kernel: ${dropped:-?}"
  echo "link: veth $SRV_IP ($SRV_NS) <-> $CLI_IP ($CLI_NS), MTU 1500, offloads off"
  echo "concurrent_connections: $CONNS"
  echo "tls_fail_rate: $TLS_FAIL_RATE/s"
  echo "truth: $OUT.truth.json"
  [ "$KEYLOG" = 1 ] && echo "keylog: $OUT.keys"
  echo "truth_summary: $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$LOGDIR/truth-summary.json")"
} >"$OUT.info"
cat "$OUT.info" >&2
if [ -n "${dropped:-}" ] && [ -n "${captured:-}" ] && [ "$captured" -gt 0 ] &&
  [ $((dropped * 100)) -gt "$captured" ]; then
  log "warning: more than 1% of packets dropped by the kernel; try a larger WSF_BENCH_INTERVAL"
fi

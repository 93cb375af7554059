#!/usr/bin/env bash
# Benchmark wsforensics on a >= 1 GB capture of real WebSocket traffic.
#
# Usage: bench/run.sh [N ...]
#   Measures, on the same file with a warm page cache: `cat FILE >/dev/null`;
#   the read-and-decode floor (examples/read_floor.rs: pcap-parser and
#   etherparse, nothing else); the release binary with --jobs 1, --jobs 2
#   and --jobs N for every N given; and, with WSF_BENCH_TSHARK=1, tshark
#   extracting the close codes as a user would. Prints a markdown table
#   (wall time, MB/s, packets/s, peak RSS, ratio to cat and to tshark).
#
# Environment (all optional):
#   WSF_BENCH_DIR      scratch directory, outside the repo (default /tmp/wsf-bench)
#   WSF_BENCH_PCAP     capture to use (default $WSF_BENCH_DIR/bench.pcap); it is
#                      generated with bench/gen-capture.sh if it does not exist
#   WSF_BENCH_REGEN=1  regenerate the capture even if it exists
#   WSF_BENCH_RUNS     runs per jobs value; the fastest is reported (default 3)
#   WSF_BENCH_RUN_TIMEOUT  seconds allowed for one analyzer run (default 1800)
#   WSF_BENCH_NO_BUILD=1   skip `cargo build --release`
#   WSF_BENCH_TSHARK=1     add tshark (one run; it takes minutes and GBs)
#   plus the generator's variables (WSF_BENCH_BYTES, WSF_BENCH_CONNS, ...),
#   see bench/gen-capture.sh.
set -euo pipefail

BENCH_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_SRC/.." && pwd)"
DIR="${WSF_BENCH_DIR:-/tmp/wsf-bench}"
export WSF_BENCH_DIR="$DIR"
PCAP="${WSF_BENCH_PCAP:-$DIR/bench.pcap}"
RUNS="${WSF_BENCH_RUNS:-3}"
RUN_TIMEOUT="${WSF_BENCH_RUN_TIMEOUT:-1800}"
BIN="$REPO/target/release/wsforensics"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Jobs values: 1, 2, then the arguments, without duplicates.
JOBS=()
for j in 1 2 "$@"; do
  [[ "$j" =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: '$j'"
  [[ " ${JOBS[*]} " == *" $j "* ]] || JOBS+=("$j")
done

# GNU time for peak RSS.
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (apt-get install time)"
  { apt-get install -y time >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; }; } ||
    die "/usr/bin/time missing and could not be installed"
fi

# 1. Build.
if [ "${WSF_BENCH_NO_BUILD:-0}" != 1 ]; then
  log "cargo build --release"
  (cd "$REPO" && cargo build --release && cargo build --release --example read_floor) >&2 ||
    die "cargo build --release failed"
fi
[ -x "$BIN" ] || die "binary not found: $BIN"

# 2. Capture.
if [ "${WSF_BENCH_REGEN:-0}" = 1 ] || [ ! -f "$PCAP" ]; then
  log "generating capture $PCAP"
  "$BENCH_SRC/gen-capture.sh" "$PCAP" || die "capture generation failed"
fi
BYTES=$(stat -L -c %s "$PCAP")
if [ "$BYTES" -lt 1000000000 ]; then
  log "warning: $PCAP is only $BYTES bytes (< 1 GB)"
fi

# Packet count: from the generator's summary if it matches this file, else
# capinfos, else tcpdump.
PACKETS=""
if [ -f "$PCAP.info" ] && grep -q "^bytes: $BYTES\$" "$PCAP.info"; then
  PACKETS=$(sed -n 's/^packets_captured: \([0-9]*\)$/\1/p' "$PCAP.info")
fi
if [ -z "$PACKETS" ]; then
  log "counting packets"
  if command -v capinfos >/dev/null; then
    PACKETS=$(capinfos -M -c -T -r "$PCAP" 2>/dev/null | awk -F'\t' 'NF>1{print $2; exit}') || PACKETS=""
  else
    PACKETS=$(tcpdump -n -r "$PCAP" 2>/dev/null | wc -l) || PACKETS=""
  fi
fi
if ! [[ "$PACKETS" =~ ^[0-9]+$ ]] || [ "$PACKETS" = 0 ]; then
  log "warning: could not count packets in $PCAP; packets/s will be n/a"
  PACKETS=0
fi

# Warm the page cache so that the runs measure the analyzer, not the disk
# (the file is read once, the first run would otherwise pay for it).
log "warming page cache ($BYTES bytes)"
cat "$PCAP" >/dev/null

OUTDIR="$DIR/results"
mkdir -p "$OUTDIR"
FAILED=0
# measure NAME RUNS CMD...: best wall time of RUNS runs, with its peak RSS
# and CPU, into M_WALL, M_RSS, M_CPU (M_WALL=FAILED when a run failed).
measure() {
  local name=$1 runs=$2
  shift 2
  M_WALL="" M_RSS="" M_CPU=""
  for r in $(seq "$runs"); do
    local tlog="$OUTDIR/time-$name-run$r.txt" t0 t1 wall rss cpu rc
    log "run: $name ($r/$runs)"
    t0=$(date +%s.%N)
    set +e
    timeout --signal=KILL "$RUN_TIMEOUT" /usr/bin/time -v -o "$tlog" "$@" \
      >"$OUTDIR/stdout-$name.txt" 2>"$OUTDIR/stderr-$name-run$r.txt"
    rc=$?
    set -e
    t1=$(date +%s.%N)
    if [ "$rc" != 0 ]; then
      log "ERROR: '$*' exited with status $rc"
      [ "$rc" = 137 ] && log "       (killed: timeout of ${RUN_TIMEOUT}s or out of memory)"
      tail -n 15 "$OUTDIR/stderr-$name-run$r.txt" | sed 's/^/         /' >&2
      FAILED=1
      M_WALL=FAILED
      return
    fi
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$tlog")
    cpu=$(sed -n 's/.*Percent of CPU this job got: *\([0-9]*\)%.*/\1/p' "$tlog")
    if [ -z "$M_WALL" ] || awk -v a="$wall" -v b="$M_WALL" 'BEGIN{exit !(a<b)}'; then
      M_WALL=$wall M_RSS=$rss M_CPU=$cpu
    fi
  done
}

NAMES=() WALLS=() RSSS=() CPUS=()
record() { NAMES+=("$1"); WALLS+=("$M_WALL"); RSSS+=("$M_RSS"); CPUS+=("$M_CPU"); }

measure cat "$RUNS" sh -c 'cat "$1" >/dev/null' sh "$PCAP"
record "cat FILE > /dev/null"
CAT_WALL=$M_WALL
measure floor "$RUNS" "$REPO/target/release/examples/read_floor" "$PCAP"
record "read-and-decode floor (pcap-parser + etherparse)"
for j in "${JOBS[@]}"; do
  measure "jobs$j" "$RUNS" "$BIN" --jobs "$j" --format json -o "$OUTDIR/report-jobs$j.json" "$PCAP"
  record "wsforensics --jobs $j"
done
TSHARK_WALL=""
if [ "${WSF_BENCH_TSHARK:-0}" = 1 ]; then
  command -v tshark >/dev/null || die "WSF_BENCH_TSHARK=1 but tshark is not installed"
  # The question a user asks tshark: every WebSocket Close and its code.
  measure tshark 1 tshark -n -r "$PCAP" -Y "websocket.opcode == 8" \
    -T fields -e frame.number -e tcp.stream -e websocket.payload.close.status_code
  record "tshark -Y 'websocket.opcode == 8' (close codes)"
  TSHARK_WALL=$M_WALL
fi

ROWS=()
for k in "${!NAMES[@]}"; do
  w=${WALLS[$k]}
  if [ "$w" = FAILED ]; then
    ROWS+=("| ${NAMES[$k]} | failed | | | | | | |")
    continue
  fi
  ROWS+=("$(awk -v n="${NAMES[$k]}" -v w="$w" -v b="$BYTES" -v p="$PACKETS" -v rss="${RSSS[$k]}" \
    -v cpu="${CPUS[$k]}" -v cat="$CAT_WALL" -v ts="$TSHARK_WALL" 'BEGIN{
      pps = p > 0 ? sprintf("%.0f", p/w) : "n/a";
      rc = (cat != "" && cat != "FAILED" && cat > 0) ? sprintf("%.1fx", w/cat) : "n/a";
      rt = (ts != "" && ts != "FAILED" && w > 0) ? sprintf("%.0fx", ts/w) : "n/a";
      printf "| %s | %.2f | %.1f | %s | %.1f | %s%% | %s | %s |", n, w, b/1e6/w, pps, rss/1024, cpu, rc, rt}')")
done

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
REV=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(cd "$REPO" && { git diff --quiet HEAD 2>/dev/null || echo "+dirty"; })
RESULT="$OUTDIR/results.md"
{
  echo "Capture: $(awk -v b="$BYTES" 'BEGIN{printf "%.2f GB", b/1e9}') ($BYTES bytes), $PACKETS packets, $(basename "$PCAP")"
  echo "Host: ${CPU_MODEL:-unknown CPU}, $(nproc) cores; wsforensics $REV$DIRTY; best of $RUNS run(s), warm page cache"
  echo
  echo "| what | wall (s) | MB/s | packets/s | peak RSS (MiB) | CPU | time / cat | tshark time / this |"
  echo "|:-----|---------:|-----:|----------:|---------------:|----:|-----------:|-------------------:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "MB = 10^6 bytes of capture file; peak RSS = \"Maximum resident set size\" from /usr/bin/time -v."
} | tee "$RESULT"
log "table saved to $RESULT"

# Ground truth: the close codes the client library saw (the generator's
# client-stats.json) against wsforensics's verdicts, per code.
STATS="$PCAP.client-stats.json"
if [ -f "$STATS" ] && [ -f "$OUTDIR/report-jobs1.json" ]; then
  python3 - "$STATS" "$OUTDIR/report-jobs1.json" <<'PY' | tee -a "$RESULT"
import json, sys
seen = json.load(open(sys.argv[1]))["close_codes_seen"]
# Sessions still open when the capture stopped are not endings the client
# saw: leave them out.
ours, still_open = {}, 0
for c in json.load(open(sys.argv[2]))["connections"]:
    d = c["disconnect"]
    if d is None:
        continue
    if d["category"] == "capture_end":
        still_open += 1
        continue
    k = "null" if d["code"] is None else str(d["code"])
    ours[k] = ours.get(k, 0) + 1
def group(code):
    c = int(code)
    return f"{c // 1000}xxx" if c >= 3000 else code
truth, got = {}, {}
for k, v in seen.items():
    truth[group(k)] = truth.get(group(k), 0) + v
for k, v in ours.items():
    if k != "null":
        got[group(k)] = got.get(group(k), 0) + v
print()
print("| close code | client library saw | wsforensics | difference |")
print("|-----------:|------------------:|------------:|-----------:|")
for k in sorted(set(truth) | set(got)):
    t, g = truth.get(k, 0), got.get(k, 0)
    print(f"| {k} | {t} | {g} | {g - t:+d} |")
print(f"\n(wsforensics: {still_open} sessions still open when the capture stopped, left out)")
PY
fi
exit "$FAILED"

#!/usr/bin/env bash
# Benchmark wsforensics on a >= 1 GB capture of real WebSocket traffic.
#
# Usage: bench/run.sh [N ...]
#   Runs the release binary with --jobs 1, --jobs 2 and --jobs N for every N
#   given, and prints a markdown table (wall time, MB/s, packets/s, peak RSS).
#
# Environment (all optional):
#   WSF_BENCH_DIR      scratch directory, outside the repo (default /tmp/wsf-bench)
#   WSF_BENCH_PCAP     capture to use (default $WSF_BENCH_DIR/bench.pcap); it is
#                      generated with bench/gen-capture.sh if it does not exist
#   WSF_BENCH_REGEN=1  regenerate the capture even if it exists
#   WSF_BENCH_RUNS     runs per jobs value; the fastest is reported (default 3)
#   WSF_BENCH_RUN_TIMEOUT  seconds allowed for one analyzer run (default 1800)
#   WSF_BENCH_NO_BUILD=1   skip `cargo build --release`
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
  (cd "$REPO" && cargo build --release) >&2 || die "cargo build --release failed"
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
ROWS=()
FAILED=0
for j in "${JOBS[@]}"; do
  best_wall="" best_rss="" best_cpu=""
  for r in $(seq "$RUNS"); do
    tlog="$OUTDIR/time-jobs$j-run$r.txt"
    log "run: --jobs $j ($r/$RUNS)"
    t0=$(date +%s.%N)
    set +e
    timeout --signal=KILL "$RUN_TIMEOUT" /usr/bin/time -v -o "$tlog" \
      "$BIN" --jobs "$j" --format json -o /dev/null "$PCAP" 2>"$OUTDIR/stderr-jobs$j-run$r.txt"
    rc=$?
    set -e
    t1=$(date +%s.%N)
    if [ "$rc" != 0 ]; then
      log "ERROR: '$BIN --jobs $j --format json -o /dev/null $PCAP' exited with status $rc"
      [ "$rc" = 137 ] && log "       (killed: timeout of ${RUN_TIMEOUT}s or out of memory)"
      log "       last lines of its stderr ($OUTDIR/stderr-jobs$j-run$r.txt):"
      tail -n 15 "$OUTDIR/stderr-jobs$j-run$r.txt" | sed 's/^/         /' >&2
      FAILED=1
      best_wall="FAILED"
      break
    fi
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$tlog")
    cpu=$(sed -n 's/.*Percent of CPU this job got: *\([0-9]*\)%.*/\1/p' "$tlog")
    if [ -z "$best_wall" ] || awk -v a="$wall" -v b="$best_wall" 'BEGIN{exit !(a<b)}'; then
      best_wall=$wall best_rss=$rss best_cpu=$cpu
    fi
  done
  if [ "$best_wall" = FAILED ]; then
    ROWS+=("| $j | failed (exit $rc) | | | | |")
  else
    ROWS+=("$(awk -v j="$j" -v w="$best_wall" -v b="$BYTES" -v p="$PACKETS" -v rss="$best_rss" -v cpu="$best_cpu" \
      'BEGIN{pps = p > 0 ? sprintf("%.0f", p/w) : "n/a"; printf "| %d | %.2f | %.1f | %s | %.1f | %s%% |", j, w, b/1e6/w, pps, rss/1024, cpu}')")
  fi
done

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
REV=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(cd "$REPO" && { git diff --quiet HEAD 2>/dev/null || echo "+dirty"; })
RESULT="$OUTDIR/results.md"
{
  echo "Capture: $(awk -v b="$BYTES" 'BEGIN{printf "%.2f GB", b/1e9}') ($BYTES bytes), $PACKETS packets, $(basename "$PCAP")"
  echo "Host: ${CPU_MODEL:-unknown CPU}, $(nproc) cores; wsforensics $REV$DIRTY; best of $RUNS run(s), warm page cache"
  echo
  echo "| --jobs | wall (s) | MB/s | packets/s | peak RSS (MiB) | CPU |"
  echo "|-------:|---------:|-----:|----------:|---------------:|----:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "MB = 10^6 bytes of capture file; peak RSS = \"Maximum resident set size\" from /usr/bin/time -v."
} | tee "$RESULT"
log "table saved to $RESULT"
exit "$FAILED"

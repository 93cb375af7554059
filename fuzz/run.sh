#!/bin/sh
# Run one fuzz target on one core, at low priority.
#
#   fuzz/run.sh TARGET [SECONDS] [more libFuzzer flags...]
#
# The working corpus is fuzz/corpus/TARGET (made from the samples by
# make_seeds.py when missing); fuzz/seeds/TARGET, if present, is read too.
# Crashes, timeouts and OOMs land in fuzz/artifacts/TARGET/. libFuzzer's
# own output goes to fuzz/fuzz-0.log (-jobs=1 -workers=1 runs it in one
# child process).
set -eu
cd "$(dirname "$0")"
t=$1
secs=${2:-600}
shift
[ $# -gt 0 ] && shift
case $t in
certificate) max_len=8192 ;;
tcp_reassembly) max_len=16384 ;;
*) max_len=65536 ;;
esac
[ -d "corpus/$t" ] || python3 make_seeds.py
mkdir -p "corpus/$t" "artifacts/$t"
dirs="corpus/$t"
[ -d "seeds/$t" ] && dirs="$dirs seeds/$t"
# shellcheck disable=SC2086
export CARGO_BUILD_JOBS=1
exec nice -n 10 cargo +nightly fuzz run --sanitizer none "$t" $dirs -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    -jobs=1 -workers=1 -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" "$@"

#!/bin/sh
# Writes every report of every bundled sample, in every format, into DIR:
# run it before and after a change that must not change behaviour, then
# `diff -r BEFORE AFTER`. Extra captures (e.g. the benchmark's) may follow.
#   bench/snapshot.sh DIR [BIN] [EXTRA.pcap ...]
set -eu
out=$1
bin=${2:-target/release/wsforensics}
[ $# -ge 2 ] && shift 2 || shift 1
extras="$*"
mkdir -p "$out"
run() { # name args...
    name=$1; shift
    for f in text json ndjson html; do
        "$bin" --quiet --color never --format "$f" "$@" >"$out/$name.$f" 2>"$out/$name.$f.err" || echo "exit $?" >>"$out/$name.$f.err"
    done
}
for c in samples/*.pcap samples/*.pcapng samples/*.gz samples/*.zst; do
    base=${c%.gz}; base=${base%.zst}; base=${base%.pcap}; base=${base%.pcapng}
    set --
    [ -f "$base.keys" ] && set -- --keylog "$base.keys"
    [ -f "$base.root.pem" ] && set -- "$@" --ca-file "$base.root.pem"
    run "$(basename "$c")" "$@" "$c"
done
for d in samples/ring-*; do
    run "$(basename "$d")" "$d"
    run "$(basename "$d")-no-stitch" --no-stitch "$d"
done
keys=""
for k in samples/*.keys; do keys="$keys --keylog $k"; done
# shellcheck disable=SC2086
run all $keys samples
# shellcheck disable=SC2086
run all-abnormal --only abnormal $keys samples
# shellcheck disable=SC2086
for x in $extras; do
    for f in text json; do
        "$bin" --quiet --color never --format $f "$x" >"$out/extra-$(basename "$x").$f" 2>&1 || true
    done
done

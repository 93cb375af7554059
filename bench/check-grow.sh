#!/usr/bin/env bash
# Check examples/grow_capture.rs on every capture in samples/: grow each
# N-fold (default 4) in both modes and check that
#
# 1. wsforensics finds N times the connections, and N times each verdict
#    (each connection compared by transport, packets, bytes, gaps, how it
#    ended, code, category, initiator, reason, and its evidence with frame
#    and connection numbers, times and addresses masked): every clone is
#    analysed as the original is. In interleave mode the clones, 1 ms
#    apart, may also be linked to each other by wsforensics' port-and-time
#    heuristics (happy eyeballs, proxy legs); those "connection N: ..."
#    evidence lines are then left out of the comparison, and said so;
# 2. (when tshark is installed) the checksums are as valid as before:
#    tshark finds exactly N times the original's bad IP and TCP checksums
#    (status 0 = Bad; offloaded loopback captures have bad TCP checksums),
#    and none at all after --fix-checksums.
#
# Usage: bench/check-grow.sh [N]      (from anywhere; builds in release)
# Output goes to ${WSF_GROW_TMP:-/tmp/wsf-grow-check} and is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-4}"
TMP="${WSF_GROW_TMP:-/tmp/wsf-grow-check}"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet --bin wsforensics --example grow_capture
WSF="$CARGO_TARGET_DIR/release/wsforensics"
GROW="$CARGO_TARGET_DIR/release/examples/grow_capture"
HAVE_TSHARK=0
command -v tshark >/dev/null 2>&1 && HAVE_TSHARK=1

# "ip bad, tcp bad" counts of a capture (tshark's checksum status 0 = Bad).
bad() {
    tshark -r "$1" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
        -T fields -e ip.checksum.status -e tcp.checksum.status 2>/dev/null |
        awk -F'\t' '$1=="0"{i++} $2=="0"{t++} END{printf "%d %d\n", i, t}'
}

# Compare the verdicts of the original and the grown capture.
compare() {
    python3 - "$1" "$2" "$N" "$3" <<'EOF'
import collections, json, re, sys
orig, grown = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
n, mode = int(sys.argv[3]), sys.argv[4]
mask = re.compile(r"(frames?|connections?) \d+(-\d+)?|\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]|\d{4}-\d\d-\d\dT[0-9:.]+Z")
def sig(c, links):
    d = c["disconnect"]
    ev = [mask.sub("#", e) for e in d["evidence"]]
    # "connection N: ..." lines relate a connection to another one.
    ev = [e for e in ev if links or not e.startswith("#:")]
    return json.dumps([c["transport"], c["packets"], c["bytes"], c["gaps"], c["ended_by"],
                       d["code"], d["category"], d["initiator"], d["observed"], d["reason"],
                       d.get("http_status"), d.get("cause"), ev], sort_keys=True)
def same(links):
    a = collections.Counter(sig(c, links) for c in orig["connections"])
    b = collections.Counter(sig(c, links) for c in grown["connections"])
    want = collections.Counter({k: v * n for k, v in a.items()})
    return b == want, [(want[k], b[k], k) for k in sorted(set(want) | set(b)) if want[k] != b[k]]
codes = {k: v * n for k, v in orig["summary"]["by_code"].items()}
ok, diff = same(True)
note = "same"
if not ok and mode == "interleave" and same(False)[0]:
    # Clones 1 ms apart are linked to each other by port and time (happy
    # eyeballs, proxy legs): the verdicts are the same, those links not.
    ok, note = True, f"same verdicts; links to other connections differ ({len(diff)} kinds)"
ok = ok and grown["summary"]["by_code"] == codes
print(f'{len(orig["connections"])} -> {len(grown["connections"])} connections, '
      f'by_code {orig["summary"]["by_code"]} -> {grown["summary"]["by_code"]}: {note if ok else "DIFFERENT"}')
if not ok:
    for w, g, k in diff[:5]:
        print(f"  want {w} got {g}: {k}")
sys.exit(0 if ok else 1)
EOF
}

fail=0
for f in samples/*.pcap samples/*.pcapng; do
    name=$(basename "$f")
    keys=()
    [ -f "${f%.pcap}.keys" ] && keys=(--keylog "${f%.pcap}.keys")
    "$WSF" --jobs 1 --format json -o "$TMP/orig.json" "${keys[@]}" "$f" 2>/dev/null || true
    [ "$HAVE_TSHARK" = 1 ] && read -r oi ot < <(bad "$f")
    for mode in sequential interleave; do
        out="$TMP/grown-$mode.${name##*.}"
        "$GROW" "$f" "$out" --copies "$N" --mode "$mode" 2>/dev/null
        "$WSF" --format json -o "$TMP/grown.json" "${keys[@]}" "$out" 2>/dev/null || true
        line="$name $mode: $(compare "$TMP/orig.json" "$TMP/grown.json" "$mode")" || fail=1
        if [ "$HAVE_TSHARK" = 1 ]; then
            read -r gi gt < <(bad "$out")
            "$GROW" "$f" "$out.fix" --copies "$N" --mode "$mode" --fix-checksums 2>/dev/null
            read -r fi_ ft < <(bad "$out.fix")
            line="$line; bad ip/tcp checksums $oi/$ot -> $gi/$gt, --fix-checksums $fi_/$ft"
            if [ "$gi" -ne $((N * oi)) ] || [ "$gt" -ne $((N * ot)) ] || [ "$fi_" -ne 0 ] || [ "$ft" -ne 0 ]; then
                line="$line CHECKSUMS WRONG"
                fail=1
            fi
            rm -f "$out.fix"
        fi
        echo "$line"
        rm -f "$out"
    done
done
[ "$fail" = 0 ] && echo "all samples: same verdicts x$N, checksums as valid as before" || echo "SOME CHECKS FAILED"
exit "$fail"

#!/bin/sh
# Open the HTML report of the bundled samples in headless Chromium: the page
# must parse in a real browser into one <article> per abnormal connection
# (compared with the JSON report's count) and render; a screenshot is left
# for a person to look at.
#
#   scripts/html-check.sh [SCREENSHOT.png]     (needs: apt-get install chromium)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
shot=${1:-/tmp/wsforensics-report.png}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$here"
cargo build --release --quiet
bin=target/release/wsforensics
$bin -q --format html -o "$work/report.html" samples/ || true
$bin -q --format json -o "$work/report.json" samples/ || true
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["abnormal"])' "$work/report.json")
chrome="chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars"
timeout 60 $chrome --dump-dom "file://$work/report.html" 2>/dev/null > "$work/dom.html"
got=$(grep -o '<article id="conn-' "$work/dom.html" | wc -l)
rects=$(grep -o '<rect ' "$work/dom.html" | wc -l)
timeout 60 $chrome --window-size=1280,2400 --screenshot="$shot" "file://$work/report.html" >/dev/null 2>&1
echo "browser DOM: $got abnormal connections (JSON report: $want), $rects SVG rects; screenshot $shot"
[ "$got" = "$want" ] && [ "$rects" -gt 0 ] && [ -s "$shot" ]

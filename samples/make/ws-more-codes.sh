#!/usr/bin/env bash
# A second set of loopback captures of real software ending WebSocket
# sessions (see ws_more_codes.py, ws_more_node.js, ws_more_tornado.py), one
# capture per way, on ports 8800-8810 (8829 is the 1014 relay's upstream,
# where nothing listens; it is not captured):
#   ws-1001-client.pcap     Node ws client leaves with 1001 (websockets server)
#   ws-1002.pcap            raw client sends an unmasked frame; websockets 1002
#   ws-1003.pcap            Node ws server that takes only text closes 1003
#   ws-1007.pcap            raw client sends invalid UTF-8 text; websockets 1007
#   ws-1009-fragmented.pcap 5 x 300-byte fragments vs max_size 1024: 1009
#   ws-1009-deflate.pcap    204800 bytes deflated to a few KB vs max_size 65536
#   ws-deflate.pcap         permessage-deflate echo session, close 1000
#   ws-1013.pcap            websockets server at capacity closes 1013
#   ws-1014.pcap            websockets relay with its upstream down closes 1014
#   ws-empty-close.pcap     Node ws client's ws.close(): empty Close payload
#   ws-426.pcap             Node ws client asks for version 8; tornado: 426
# With arguments, makes only the captures named (e.g. `ws-more-codes.sh ws-1003`).
# Needs ws 8 where NODE_PATH points (default /tmp/wsnode/node_modules:
# `mkdir -p /tmp/wsnode && cd /tmp/wsnode && npm install ws@8`) and tornado
# where WS_PYTHONPATH points (default /tmp/wspy:
# `python3 -m pip install --target /tmp/wspy tornado`).
source "$(dirname "$0")/lib.sh"
export NODE_PATH="${NODE_PATH:-/tmp/wsnode/node_modules}"
WS_PYTHONPATH="${WS_PYTHONPATH:-/tmp/wspy}"
PY="$HERE/ws_more_codes.py"
JS="$HERE/ws_more_node.js"
ONLY="$*"

# Like lib.sh's start_capture, but waits until tcpdump says it is listening
# (a fixed sleep was once not enough on a busy machine: an empty capture).
start_capture_ready() {
    local file="$1" log; shift
    log=$(mktemp)
    tcpdump -U -w "$file" "$@" 2>"$log" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
    rm -f "$log"
    sleep 0.5
}

# session NAME PORT SERVER_CMD... -- CLIENT_CMD...
session() {
    local name="$1" port="$2"; shift 2
    local srv=() cli=()
    while [ "$1" != "--" ]; do srv+=("$1"); shift; done
    shift; cli=("$@")
    if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
    echo "== $name (port $port)"
    start_capture_ready "$OUT/$name.pcap" -i lo -s 0 -B 65536 tcp port "$port"
    timeout 30 "${srv[@]}" &
    local s=$!; PIDS+=("$s"); sleep 0.7
    timeout 30 "${cli[@]}" || true
    wait "$s" 2>/dev/null || true
    stop_capture
    local n
    n=$(tcpdump -r "$OUT/$name.pcap" 2>/dev/null | wc -l)
    echo "== $name: $n packets"
    [ "$n" -gt 0 ] || { echo "$name: empty capture" >&2; exit 1; }
}

session ws-1001-client 8800 python3 "$PY" server 8800 echo -- \
    node "$JS" client ws://127.0.0.1:8800/going-away going-away
session ws-1002 8801 python3 "$PY" server 8801 echo -- python3 "$PY" client 8801 raw-unmasked
session ws-1003 8802 node "$JS" server 8802 text-only -- python3 "$PY" client 8802 binary
session ws-1007 8803 python3 "$PY" server 8803 echo -- python3 "$PY" client 8803 raw-bad-utf8
session ws-1009-fragmented 8804 python3 "$PY" server 8804 too-big-frag -- \
    python3 "$PY" client 8804 too-big-frag
session ws-1009-deflate 8805 python3 "$PY" server 8805 too-big-deflate -- \
    python3 "$PY" client 8805 too-big-deflate
session ws-deflate 8806 python3 "$PY" server 8806 deflate -- python3 "$PY" client 8806 deflate
session ws-1013 8807 python3 "$PY" server 8807 try-later -- python3 "$PY" client 8807 try-later
session ws-1014 8808 python3 "$PY" server 8808 bad-gateway -- python3 "$PY" client 8808 bad-gateway
session ws-empty-close 8809 python3 "$PY" server 8809 echo -- \
    node "$JS" client ws://127.0.0.1:8809/empty-close empty-close
session ws-426 8810 env PYTHONPATH="$WS_PYTHONPATH" python3 "$HERE/ws_more_tornado.py" 8810 -- \
    node "$JS" client ws://127.0.0.1:8810/v8 version-8

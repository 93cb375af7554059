#!/usr/bin/env bash
# Node `ws` server (npm ws 8) and Python websockets client over loopback;
# the server closes with 1001 after echoing two messages. Needs `ws`
# installed where NODE_PATH points (default /tmp/wsnode/node_modules:
# `mkdir -p /tmp/wsnode && cd /tmp/wsnode && npm install ws@8`).
source "$(dirname "$0")/lib.sh"
export NODE_PATH="${NODE_PATH:-/tmp/wsnode/node_modules}"
start_capture "$OUT/ws-node.pcap" -i lo -s 0 tcp port 8772
node "$HERE/ws_node_server.js" 8772 &
SRV=$!; PIDS+=("$SRV"); sleep 0.7
timeout 30 python3 "$HERE/ws_node_client.py" ws://127.0.0.1:8772/node
wait "$SRV" || true
stop_capture

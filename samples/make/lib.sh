# Shared helpers for the sample scripts: start a capture, run a session,
# stop the capture cleanly. Source it; needs root, tcpdump, python3 with the
# `websockets` package.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cd "$HERE/.." && pwd)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# start_capture FILE ARGS...: tcpdump ARGS -w FILE in the background.
start_capture() {
    local file="$1"; shift
    tcpdump -U -w "$file" "$@" 2>/dev/null &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    # tcpdump needs a moment before its filter is attached.
    sleep 2
}

stop_capture() {
    sleep 0.5
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
}

# ws_session [NETNS_FOR_SERVER] HOST PORT URL CLIENT_ARGS...
ws_session() {
    local host="$1" port="$2" url="$3"; shift 3
    timeout 60 python3 "$HERE/ws_peer.py" server "$host" "$port" &
    local srv=$!
    PIDS+=("$srv")
    sleep 0.7
    timeout 60 python3 "$HERE/ws_peer.py" client "$url" "$@"
    wait "$srv" || true
}

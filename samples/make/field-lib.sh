# Helpers for the field-shaped samples (field-midstream.sh, field-snap.sh,
# field-ring.sh). Source it after lib.sh. Every peer runs under `timeout`,
# every process started is in PIDS (lib.sh's cleanup kills them), and
# $WORK (a private directory under /tmp) is removed on exit.
export NODE_PATH="${NODE_PATH:-/tmp/wsnode/node_modules}"
LOGS="${LOGS:-$OUT/field-logs}"
PY="$HERE/field_peers.py"
JS="$HERE/field_node.js"
WORK="$(mktemp -d /tmp/wsf-field.XXXXXX)"
trap 'cleanup; rm -rf "$WORK"' EXIT
mkdir -p "$LOGS"
CAPS=()

# cap_tcpdump FILE ARGS...: tcpdump -U --immediate-mode ARGS -w FILE in the
# background. cap_dumpcap ARGS...: dumpcap ARGS in the background. Start
# them all, then caps_ready: returns once every one says it captures
# ("listening on", "Capturing on").
CAPLOGS=()
cap_tcpdump() {
    local file="$1" log; shift
    log="$WORK/cap.${#CAPLOGS[@]}.log"
    tcpdump -U --immediate-mode -Z root "$@" -w "$file" 2>"$log" &
    CAPS+=("$!"); PIDS+=("$!"); CAPLOGS+=("$log")
}
cap_dumpcap() {
    local log="$WORK/cap.${#CAPLOGS[@]}.log"
    dumpcap "$@" 2>"$log" &
    CAPS+=("$!"); PIDS+=("$!"); CAPLOGS+=("$log")
}
caps_ready() {
    local log
    for log in "${CAPLOGS[@]}"; do
        for _ in $(seq 100); do grep -q "listening on\|Capturing on" "$log" && break; sleep 0.05; done
        grep -q "listening on\|Capturing on" "$log" || { cat "$log" >&2; exit 1; }
    done
    CAPLOGS=()
}

# stop_caps: SIGINT to every capture started, then wait for each.
stop_caps() {
    sleep 0.5
    for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${CAPS[@]}"; do wait "$p" 2>/dev/null || true; done
    CAPS=()
}

wait_listen() {  # wait_listen PORT
    for _ in $(seq 100); do
        ss -Hltn "sport = :$1" | grep -q . && return 0
        sleep 0.1
    done
    echo "nothing listens on $1" >&2
    return 1
}

# py_server NAME PORT SCENARIO ARGS...: a field_peers.py server, output in
# $LOGS/NAME-PORT-server.log (first line: the command).
py_server() {
    local name="$1" port="$2" scen="$3"; shift 3
    local log="$LOGS/$name-$port-server.log"
    echo "\$ python3 make/field_peers.py server $port $scen $*" > "$log"
    timeout 60 python3 "$PY" server "$port" "$scen" "$@" >>"$log" 2>&1 &
    PIDS+=("$!"); SERVERS+=("$!")
    wait_listen "$port"
}

# py_client NAME PORT SCENARIO URL ARGS... / node_client NAME PORT SCENARIO URL GO HOLD [INTERVAL]
py_client() {
    local name="$1" port="$2" scen="$3" url="$4"; shift 4
    local log="$LOGS/$name-$port-client.log"
    echo "\$ python3 make/field_peers.py client $url $scen $*" > "$log"
    timeout 60 python3 "$PY" client "$url" "$scen" "$@" >>"$log" 2>&1 &
    PIDS+=("$!"); CLIENTS+=("$!")
}
node_client() {
    local name="$1" port="$2" scen="$3" url="$4"; shift 4
    local log="$LOGS/$name-$port-client.log"
    echo "\$ node make/field_node.js $url $scen $*" > "$log"
    timeout 60 node "$JS" "$url" "$scen" "$@" >>"$log" 2>&1 &
    PIDS+=("$!"); CLIENTS+=("$!")
}

wait_all() {  # waits for every client and server started
    for p in "${CLIENTS[@]:-}" "${SERVERS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    CLIENTS=(); SERVERS=()
}
CLIENTS=(); SERVERS=()

versions() {
    {
        python3 -c 'import ssl, sys, websockets; print("python", sys.version.split()[0], ssl.OPENSSL_VERSION, "websockets", websockets.__version__)'
        node -e 'console.log("node", process.version, "OpenSSL", process.versions.openssl, "ws", require("ws/package.json").version)'
        tcpdump --version 2>&1 | head -2 | tr '\n' ' '; echo
        dumpcap --version | head -1
        tshark --version | head -1
        echo "mergecap: $(mergecap --version | head -1)"
        uname -sr
    } > "$LOGS/versions.txt"
}

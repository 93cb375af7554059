# Shared by the capture generators (gen-capture.sh, gen-netns.sh). Source it
# after defining log() and die().

# install_ws DIR VERSION: the `ws` package into DIR/node (never into the
# repository), once; exports NODE_PATH.
install_ws() {
  local node_dir="$1/node" version="$2"
  if [ ! -f "$node_dir/node_modules/ws/package.json" ]; then
    log "installing ws@$version into $node_dir"
    mkdir -p "$node_dir"
    (cd "$node_dir" && { [ -f package.json ] || npm init -y >/dev/null 2>&1; } &&
      timeout 300 npm install --no-audit --no-fund --loglevel=error "ws@$version" >/dev/null) ||
      die "npm install ws failed"
  fi
  export NODE_PATH="$node_dir/node_modules"
}

# raise_fd_limit CONNS: enough file descriptors for CONNS connections in one
# process (two sockets each, plus some).
raise_fd_limit() {
  local need=$(($1 * 2 + 256))
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
  [ "$(ulimit -n)" -ge "$need" ] ||
    die "ulimit -n is $(ulimit -n), need at least $need for $1 connections"
}

# wait_for_size FILE TARGET DEADLINE PID...: return once FILE has TARGET
# bytes; die past DEADLINE (epoch seconds) or when one of the PIDs is gone.
# Logs the progress every 10 s.
wait_for_size() {
  local file="$1" target="$2" deadline="$3" last_report=0 size now pid
  shift 3
  while :; do
    size=$(stat -c %s "$file" 2>/dev/null || echo 0)
    [ "$size" -ge "$target" ] && return 0
    now=$(date +%s)
    [ "$now" -lt "$deadline" ] || die "timeout with only $size bytes captured"
    for pid in "$@"; do
      kill -0 "$pid" 2>/dev/null || die "a generator process ($pid) died; see $LOGDIR"
    done
    if [ $((now - last_report)) -ge 10 ]; then
      log "$(awk -v s="$size" -v t="$target" 'BEGIN{printf "%.0f MB / %.0f MB", s/1e6, t/1e6}')"
      last_report=$now
    fi
    sleep 0.2
  done
}

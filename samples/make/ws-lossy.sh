#!/usr/bin/env bash
# A websockets session across a lossy router: client namespace -- router
# namespace -- server namespace, joined by veth pairs. The router forwards
# with GRO off (so it handles single segments, as on a wire), shapes the
# server-to-client link with tbf, and drops 5% of the data segments it
# forwards with nftables. The capture runs on the client's veth, so it shows
# real loss: segments arriving ahead of a hole, then the sender's
# retransmission filling it (and client retransmissions when the server's
# data or ACKs were lost).
source "$(dirname "$0")/lib.sh"
CL=wsf-cl; RT=wsf-rt; SV=wsf-sv
netns_down() { for n in $CL $RT $SV; do ip netns del $n 2>/dev/null || true; done; }
trap 'cleanup; netns_down' EXIT
netns_down
for n in $CL $RT $SV; do ip netns add $n; ip -n $n link set lo up; done
ip link add wsf-c type veth peer name wsf-rc
ip link add wsf-s type veth peer name wsf-rs
ip link set wsf-c netns $CL; ip link set wsf-rc netns $RT
ip link set wsf-s netns $SV; ip link set wsf-rs netns $RT
ip -n $CL addr add 10.77.1.1/24 dev wsf-c; ip -n $RT addr add 10.77.1.254/24 dev wsf-rc
ip -n $SV addr add 10.77.2.1/24 dev wsf-s; ip -n $RT addr add 10.77.2.254/24 dev wsf-rs
for pair in "$CL wsf-c" "$RT wsf-rc" "$RT wsf-rs" "$SV wsf-s"; do
    set -- $pair
    ip -n $1 link set $2 up
    ip netns exec $1 ethtool -K $2 gro off tso off gso off >/dev/null 2>&1 || true
done
ip -n $CL route add default via 10.77.1.254
ip -n $SV route add default via 10.77.2.254
ip netns exec $RT sysctl -qw net.ipv4.ip_forward=1
ip netns exec $RT tc qdisc add dev wsf-rc root tbf rate 20mbit burst 32kb latency 50ms
ip netns exec $RT nft -f - <<'NFT'
table inet lossy {
  chain forward_loss {
    type filter hook forward priority 0; policy accept;
    tcp flags & (syn|fin|rst) == 0 ip length > 200 numgen random mod 100 < 5 counter drop
  }
}
NFT
ip netns exec $CL tcpdump -U -i wsf-c -s 0 -w "$OUT/ws-lossy.pcap" tcp port 9001 2>/dev/null &
CAP_PID=$!; PIDS+=("$CAP_PID"); sleep 1
ip netns exec $SV timeout 60 python3 "$HERE/ws_peer.py" server 10.77.2.1 9001 &
PIDS+=($!); sleep 0.8
ip netns exec $CL timeout 60 python3 "$HERE/ws_peer.py" client ws://10.77.2.1:9001/lossy --messages 10 --size 12000
sleep 1
stop_capture
ip netns exec $RT nft list ruleset | grep -o 'counter packets [0-9]*' >&2

#!/usr/bin/env bash
# ws-reorder.pcap: real reordering, made by the kernel alone.
#
#   ns wsf-rc (client)  rc1 10.77.3.1 ---- rr1 10.77.3.254 ┐
#                       rc2 10.77.4.1 ---- rr2 10.77.4.254 ├ ns wsf-rr (router) ---- rs 10.77.6.254 -- ss 10.77.6.1 ns wsf-rs (server)
#
# The router marks a random 30% of the packets it forwards towards the
# client (nftables numgen in prerouting); policy routing sends marked
# packets over the second link, whose egress is shaped with tbf to 4 Mbit/s,
# and the rest over the first, unshaped link. Both links end in the client
# namespace, which accepts packets for 10.77.3.1 on either (weak host model,
# rp_filter off), so segments from the slow link arrive after later ones from
# the fast link. tcpdump -i any -y LINUX_SLL2 in the client namespace records
# both links; SLL2's interface index tells which link each packet took.
# Session: 4 text and 4 binary 8000-byte messages echoed, client closes with
# 1000.
source "$(dirname "$0")/lib.sh"
C=wsf-rc; R=wsf-rr; S=wsf-rs
netns_down() { for n in $C $R $S; do ip netns del $n 2>/dev/null || true; done; }
trap 'cleanup; netns_down' EXIT
# attempt: build the namespaces, run one session, tear them down.
attempt() {
    netns_down
    for n in $C $R $S; do
        ip netns add $n
        ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
            net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        ip -n $n link set lo up
    done
    ip -n $C link add rc1 type veth peer name rr1 netns $R
    ip -n $C link add rc2 type veth peer name rr2 netns $R
    ip -n $S link add ss type veth peer name rs netns $R
    ip -n $C addr add 10.77.3.1/24 dev rc1
    ip -n $C addr add 10.77.4.1/24 dev rc2
    ip -n $R addr add 10.77.3.254/24 dev rr1
    ip -n $R addr add 10.77.4.254/24 dev rr2
    ip -n $R addr add 10.77.6.254/24 dev rs
    ip -n $S addr add 10.77.6.1/24 dev ss
    for pair in "$C rc1" "$C rc2" "$R rr1" "$R rr2" "$R rs" "$S ss"; do
        set -- $pair
        ip netns exec $1 ethtool -K $2 tso off gso off gro off >/dev/null 2>&1 || true
        ip -n $1 link set $2 up
    done
    ip -n $C route add default via 10.77.3.254 dev rc1
    ip -n $S route add default via 10.77.6.254
    ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
    ip netns exec $C sysctl -qw net.ipv4.conf.rc2.rp_filter=0
    # marked packets to the client take the slow link
    ip -n $R route add 10.77.3.1/32 via 10.77.4.1 dev rr2 table 100
    ip -n $R rule add fwmark 1 table 100
    ip netns exec $R tc qdisc add dev rr2 root tbf rate 4mbit burst 3000 latency 200ms
    ip netns exec $R nft -f - <<'NFT'
table ip reorder {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    iifname "rs" ip daddr 10.77.3.1 numgen random mod 10 < 3 meta mark set 1 counter
  }
}
NFT
    ip netns exec $C tcpdump -U --immediate-mode -B 65536 -i any -y LINUX_SLL2 -s 0 -w "$OUT/ws-reorder.pcap" tcp port 9004 2>/dev/null &
    CAP_PID=$!; PIDS+=("$CAP_PID"); sleep 2
    ip netns exec $S timeout 60 python3 "$HERE/ws_peer.py" server 10.77.6.1 9004 &
    SRV=$!; PIDS+=("$SRV"); sleep 0.8
    ip netns exec $C timeout 60 python3 "$HERE/ws_peer.py" client ws://10.77.6.1:9004/reorder --messages 4 --size 8000
    wait "$SRV" || true
    sleep 1
    stop_capture
    ip netns exec $R nft list ruleset | grep -o 'counter packets [0-9]*' >&2
    netns_down
}
# With tcpdump's default 2 MB buffer, immediate mode and a 256 KB snaplen
# the ring held only a few packets and the kernel dropped some (they were
# missing though the client had ACKed them), hence -B 65536. The facts need
# every byte, so retry if any payload is still missing.
for try in 1 2 3; do
    attempt
    if python3 -c "import sys; sys.path.insert(0, '$HERE'); import pcapcheck; pcapcheck.analyze('$OUT/ws-reorder.pcap')" 2>/dev/null; then
        exit 0
    fi
    echo "ws-reorder: capture has a hole, trying again" >&2
done
exit 1

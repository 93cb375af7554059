#!/usr/bin/env bash
# ws-vlan.pcap: 802.1Q-tagged frames on a real veth "trunk".
#
#   ns wsf-vc: vc0 10.77.5.1 --veth-- vc1 [ns wsf-sw] tr1 ==veth trunk== tr2 [ns wsf-sw] vs1 --veth-- vs0 10.77.5.2: ns wsf-vs
#
# This kernel has no 8021q module, no bridge VLAN filtering and no tc
# actions, so vlan_switch.py (AF_PACKET, in ns wsf-sw) does the tagging: it
# tags frames from the access veths with VLAN 100 onto the trunk pair and
# untags them on the other side. tcpdump captures the trunk end tr1, where
# every frame carries the tag. The session: Python websockets client in
# wsf-vc, server in wsf-vs (10.77.5.2:9002), 2 text and 2 binary 64-byte
# messages echoed, client closes with 4001. IPv6 is disabled in the three
# namespaces so only ARP and the TCP session cross the trunk.
source "$(dirname "$0")/lib.sh"
C=wsf-vc; S=wsf-vs; W=wsf-sw
netns_down() { for n in $C $S $W; do ip netns del $n 2>/dev/null || true; done; }
trap 'cleanup; netns_down' EXIT
netns_down
for n in $C $S $W; do
    ip netns add $n
    ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n $n link set lo up
done
ip -n $C link add vc0 type veth peer name vc1 netns $W
ip -n $S link add vs0 type veth peer name vs1 netns $W
ip -n $W link add tr1 type veth peer name tr2
ip -n $C addr add 10.77.5.1/24 dev vc0
ip -n $S addr add 10.77.5.2/24 dev vs0
for pair in "$C vc0" "$S vs0" "$W vc1" "$W vs1" "$W tr1" "$W tr2"; do
    set -- $pair
    # Checksums and segments complete in software, so frames that cross
    # user space are whole and correct.
    ip netns exec $1 ethtool -K $2 tx off tso off gso off gro off >/dev/null 2>&1 || true
    ip -n $1 link set $2 up
done
ip netns exec $W timeout 40 python3 "$HERE/vlan_switch.py" vc1 tr1 tr2 vs1 100 30 &
SW=$!; PIDS+=("$SW")
ip netns exec $W tcpdump -U --immediate-mode -B 16384 -i tr1 -s 0 -w "$OUT/ws-vlan.pcap" 2>/dev/null &
CAP_PID=$!; PIDS+=("$CAP_PID"); sleep 2
ip netns exec $S timeout 60 python3 "$HERE/ws_peer.py" server 10.77.5.2 9002 &
SRV=$!; PIDS+=("$SRV"); sleep 0.8
ip netns exec $C timeout 60 python3 "$HERE/ws_peer.py" client ws://10.77.5.2:9002/vlan --messages 2 --close 4001
wait "$SRV" || true
sleep 1
stop_capture
kill "$SW" 2>/dev/null || true; wait "$SW" 2>/dev/null || true

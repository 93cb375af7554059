#!/usr/bin/env bash
# 802.1Q-tagged traffic. This machine's kernel has no 8021q module, so a VLAN
# cannot be made on the wire here; instead tcprewrite (tcpreplay) inserts a
# VLAN 100 tag into every frame of a real loopback capture of a websockets
# session (port 9002, closed by the client with 4001), as a switch's mirror
# port that keeps tags would deliver it. Payloads and TCP are untouched.
source "$(dirname "$0")/lib.sh"
TMP=$(mktemp --suffix=.pcap)
start_capture "$TMP" -i lo -s 0 tcp port 9002
ws_session 127.0.0.1 9002 ws://127.0.0.1:9002/vlan --messages 2 --close 4001
stop_capture
tcprewrite --enet-vlan=add --enet-vlan-tag=100 --enet-vlan-cfi=0 --enet-vlan-pri=0 -i "$TMP" -o "$OUT/ws-vlan.pcap"
rm -f "$TMP"

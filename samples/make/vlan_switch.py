#!/usr/bin/env python3
"""A two-port 802.1Q "switch" pair in user space, for ws-vlan.pcap.

usage: vlan_switch.py ACCESS_A TRUNK_A TRUNK_B ACCESS_B VID SECONDS

This machine's kernel has neither the 8021q module nor bridge VLAN
filtering nor tc actions, so no kernel device can put a VLAN tag on a
frame. This process does it instead, with AF_PACKET sockets: a frame
received on an access port gets an 802.1Q tag (VID, priority 0) and is
sent out of that side's trunk veth; a frame received on a trunk port with
that VID (the kernel strips the tag on receive and reports it in
PACKET_AUXDATA) is sent untagged out of the other side's access port.
Frames with another VID, or untagged ones on a trunk, are dropped.
Everything else (the TCP/IP stacks at both ends, the veth wire) is the
kernel's. Exits after SECONDS.
"""
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4


def open_port(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((name, 0))
    return s


def main():
    acc_a, trk_a, trk_b, acc_b, vid, secs = sys.argv[1:7]
    vid, deadline = int(vid), time.monotonic() + float(secs)
    socks = {n: open_port(n) for n in (acc_a, trk_a, trk_b, acc_b)}
    # access port -> trunk to tag onto; trunk port -> access port to untag onto
    tag_to = {acc_a: trk_a, acc_b: trk_b}
    untag_to = {trk_a: acc_a, trk_b: acc_b}
    names = {s.fileno(): n for n, s in socks.items()}
    tag = struct.pack(">HH", 0x8100, vid & 0x0FFF)
    counts = {"tagged": 0, "untagged": 0, "dropped": 0}
    while time.monotonic() < deadline:
        ready, _, _ = select.select(list(socks.values()), [], [], 0.2)
        for s in ready:
            name = names[s.fileno()]
            frame, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(20))
            if addr[2] == PACKET_OUTGOING:
                continue  # our own transmissions, seen again
            tci = None
            for level, typ, data in anc:
                if level == SOL_PACKET and typ == PACKET_AUXDATA:
                    status, _, _, _, _, vtci = struct.unpack_from("=IIIHHH", data)
                    if status & TP_STATUS_VLAN_VALID:
                        tci = vtci
            if tci is None and frame[12:14] == b"\x81\x00":
                # a tag left in the frame rather than in the metadata
                tci = struct.unpack_from(">H", frame, 14)[0]
                frame = frame[:12] + frame[16:]
            if name in tag_to:
                if tci is not None:
                    counts["dropped"] += 1
                    continue
                socks[tag_to[name]].send(frame[:12] + tag + frame[12:])
                counts["tagged"] += 1
            else:
                if tci is None or tci & 0x0FFF != vid:
                    counts["dropped"] += 1
                    continue
                socks[untag_to[name]].send(frame)
                counts["untagged"] += 1
    print("vlan_switch:", counts, file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Rewrite every samples/*.facts.json from tshark (facts.py), then check them
# all with the tshark-free reader (pcapcheck.py). Run after any make script.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S="$HERE/.."
F="python3 $HERE/facts.py"
OK="TCP/IP checksums are mostly not filled in (checksum offload on lo/veth), as in any capture taken on the sending host."

$F "$S/ws-loopback.pcap" --notes "Python websockets client and server on 127.0.0.1:8765: 3 text and 3 binary 64-byte messages, each echoed; the client closes with 1000 'client done'. $OK"
# tshark reads gzip itself; tshark 4.0 cannot read zstd, so the .zst facts
# are taken from the uncompressed file.
$F "$S/ws-loopback.pcap.gz" --notes "gzip -9 of ws-loopback.pcap; same packets. $OK"
$F "$S/ws-loopback.pcap" --as ws-loopback.pcap.zst --notes "zstd -19 of ws-loopback.pcap (facts from the uncompressed file: tshark 4.0 cannot read zstd). $OK"
$F "$S/ws-loopback-be.pcap" --notes "ws-loopback.pcap with its file and record headers rewritten big-endian (magic a1b2c3d4 as bytes) by make/to_big_endian.py; packet bytes unchanged. $OK"
OFF=$(python3 - "$S/ws-truncated.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read(); off = 24
while off + 16 <= len(d) and off + 16 + struct.unpack_from("<I", d, off + 8)[0] <= len(d):
    off += 16 + struct.unpack_from("<I", d, off + 8)[0]
print(off)
PY
)
$F "$S/ws-truncated.pcap" --truncated-at "$OFF" --notes "ws-loopback.pcap cut 30 bytes into its 24th and last record, which starts at byte $OFF: 23 complete packets (the last complete one is the client's FIN), then a partial record, as when tcpdump is killed mid-write. tshark reports 'cut short in the middle of a packet'. $OK"
$F "$S/ws-nano.pcap" --notes "tcpdump --time-stamp-precision=nano (magic a1b23c4d): 2 text and 2 binary 64-byte messages on 127.0.0.1:8766, client closes with 1001. $OK"
$F "$S/ws-sll.pcap" --notes "tcpdump -i any -y LINUX_SLL: 2+2 64-byte messages on 127.0.0.1:8767, client closes with 1000. On 'any' each loopback packet is seen once, with packet type 0 (to us). $OK"
$F "$S/ws-sll2.pcap" --notes "tcpdump -i any -y LINUX_SLL2: 2+2 64-byte messages on 127.0.0.1:8768, client closes with 1000. $OK"
$F "$S/ws-ipv6.pcap" --notes "Session over [::1]:8769: 2 text and 2 binary 300-byte messages (16-bit extended payload length), client closes with 1000. $OK"
$F "$S/ws-two-interfaces.pcapng" --notes "dumpcap -i lo -f 'tcp port 8770' -i any -f 'tcp port 8771': interface 0 is lo (Ethernet, 1), interface 1 is any (Linux SLL, 113), both with if_tsresol 9 (nanoseconds). Two sessions ran at once; tshark numbers streams by first packet in file order, and dumpcap wrote the lo session's packets first although the any session started ~7 ms earlier, so stream 1's first_time_epoch is earlier than stream 0's. $OK"
$F "$S/ws-lossy.pcap" --notes "Client ns -- router ns (tbf 20mbit, nftables drops 5% of forwarded data segments) -- server ns; captured on the client's veth: 10 text and 10 binary 12000-byte messages echoed. Lost server data appears as holes filled later by retransmissions; lost client data appears as the client's own retransmissions. $OK"
$F "$S/ws-reorder.pcap" --notes "Real reordering: tcpdump -i any -y LINUX_SLL2 in the client namespace; the router sends a random 30% of server-to-client packets over a second, tbf-shaped (4 Mbit/s) link, so they arrive after later packets from the fast link (sll2.ifindex 3 = slow link, 2 = fast link). 4 text and 4 binary 8000-byte messages echoed, client closes with 1000. tshark labels many late originals as retransmissions or spurious retransmissions; the server also really retransmits after duplicate ACKs, and the client flags duplicates it received with D-SACK. tshark's WebSocket dissector misparses several server frames here (bogus opcodes), although follow,tcp reassembles the stream correctly. $OK"
$F "$S/ws-vlan.pcap" --notes "Every frame has an 802.1Q tag (VLAN 100, priority 0): captured on a veth trunk between two namespaces, tags added and removed by make/vlan_switch.py (AF_PACKET; the kernel has no 8021q module). Frames 1-2 are the ARP request and reply (non-TCP). Session 10.77.5.1 -> 10.77.5.2:9002, 2 text and 2 binary 64-byte messages, client closes with 4001. Checksums are all correct here (offload disabled so frames could cross user space)."
$F "$S/ws-node.pcap" --notes "Node ws 8 server, Python websockets client on 127.0.0.1:8772: two text messages echoed, then the server closes with 1001 'server shutting down'. $OK"

python3 "$HERE/pcapcheck.py"

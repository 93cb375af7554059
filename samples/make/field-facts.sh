#!/usr/bin/env bash
# Truth and facts of the field-shaped samples, after field-midstream.sh,
# field-snap.sh and field-ring.sh (which leave the full-snaplen reference
# captures in $FULL, default /tmp/wsf-field-full):
#   CAPTURE.truth.json  make/field_truth.py (Close frames, upgrade, alerts,
#                       TCP end, expected verdict, endpoint logs)
#   CAPTURE.facts.json  make/facts.py, through make/field_facts.py for the
#                       mid-stream captures (roles of connections without SYN);
#                       for the snaplen captures CAPTURE.facts-snaplen.json
#   ring-*/truth.json   make/field_truth.py on the mergecap'd files
# Needs tshark, mergecap, python3.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S="$(cd "$HERE/.." && pwd)"
FULL="${FULL:-/tmp/wsf-field-full}"
T="python3 $HERE/field_truth.py"
OK="TCP/IP checksums are mostly not filled in (checksum offload on lo), as in any capture taken on the sending host."

MID="Mid-stream capture: seven WebSocket sessions on 127.0.0.1:8900-8906 were open and talking before the capture started, so no SYN and no HTTP upgrade is in it; each ends its own way (see midstream-ws.pcap.truth.json)."
MIDHOW="No upgrade is in the capture, so tshark's HTTP dissector never hands the ports to WebSocket; they are decoded as WebSocket from their first captured byte (-d tcp.port==P,websocket). That works because each direction's first captured data segment begins with a frame header (first_ws_header_frame; found by the raw decoder, which walks each direction's reassembled bytes from that segment frame by frame with no byte left over, and by the known traffic: every message is one write of under 200 bytes). The raw decoder's Close frames (unmasked by itself) equal tshark's in every connection, and the endpoints' logs report the same codes and reasons."
$T "$S/midstream-ws.pcap" --midstream --logs midstream --out "$S/midstream-ws.pcap.truth.json" --notes "$MIDHOW" \
    --made-by "make/field-midstream.sh: tcpdump -U --immediate-mode -i lo -s 0 'tcp portrange 8900-8906'"
$T "$S/midstream-ws.pcapng" --midstream --logs midstream --out "$S/midstream-ws.pcapng.truth.json" --notes "$MIDHOW" \
    --made-by "make/field-midstream.sh: dumpcap -i lo -f 'tcp portrange 8900-8906', at the same time as midstream-ws.pcap"
python3 "$HERE/field_facts.py" "$S/midstream-ws.pcap" --servers 8900-8906 --notes "$MID tcpdump 4.99.3. $OK"
python3 "$HERE/field_facts.py" "$S/midstream-ws.pcapng" --servers 8900-8906 --notes "$MID dumpcap 4.0.17, running at the same time as the tcpdump of midstream-ws.pcap (started together; the two begin at different packets). $OK"

for n in 96 128; do
    $T "$S/snap-ws-$n.pcap" --reference "$FULL/snap-ws-full.pcap" --logs snap-ws \
        --out "$S/snap-ws-$n.pcap.truth.json" \
        --made-by "make/field-snap.sh: tcpdump -i lo -s $n 'tcp portrange 8910-8915', with -s $(( n == 96 ? 128 : 96 )) and -s 0 at the same time"
    python3 "$HERE/facts.py" "$S/snap-ws-$n.pcap" --notes "tcpdump -s $n: every packet cut to $n bytes (Ethernet 14 + IPv4 20 + TCP 32 = 66 bytes of headers, so at most $((n - 66)) bytes of TCP payload each). Six plain ws sessions on 127.0.0.1:8910-8915, one after the other: client Close 1000, server Close 1001, Node client Close 4000, HTTP 403, server killed (FIN, no Close), 1500/5000/100000-byte messages then client Close 1000. tshark's follow,tcp has only the captured bytes: the byte counts and SHA-256s here are of those, not of what was sent (see the .truth.json). $OK"
    $T "$S/snap-wss-$n.pcap" --reference "$FULL/snap-wss-full.pcap" --tls --keylog "$S/field-logs/snap-wss.keys" \
        --logs snap-wss --out "$S/snap-wss-$n.pcap.truth.json" \
        --made-by "make/field-snap.sh: tcpdump -i lo -s $n 'tcp portrange 8920-8923', with -s $(( n == 96 ? 128 : 96 )) and -s 0 at the same time"
    python3 "$HERE/facts.py" "$S/snap-wss-$n.pcap" --notes "tcpdump -s $n: every packet cut to $n bytes (at most $((n - 66)) bytes of TCP payload). Four wss (TLS 1.3) connections on 127.0.0.1:8920-8923: client Close 1000, server Close 1001, server Close 4000, and a handshake the client rejects (rogue root: plaintext alert unknown_ca, then RST). tshark's follow,tcp has only the captured bytes. $OK"
done
# tests/samples.rs wants every connection without gaps, which a cut capture
# cannot give: the snaplen facts keep facts.py's content under another name
# (X.facts-snaplen.json) so that test does not read them.
for f in "$S"/snap-ws-96.pcap "$S"/snap-ws-128.pcap "$S"/snap-wss-96.pcap "$S"/snap-wss-128.pcap; do
    mv "$f.facts.json" "$f.facts-snaplen.json"
done

for d in ring-dumpcap ring-dumpcap-pcap ring-tcpdump; do
    $T "$S/$d" --logs ring --out "$S/$d/truth.json" --made-by "make/field-ring.sh ($d)"
done
$T "$S/ring-dumpcap-wrapped" --reference "$FULL/ring-full.pcap" --logs ring \
    --out "$S/ring-dumpcap-wrapped/truth.json" \
    --made-by "make/field-ring.sh: dumpcap -b filesize:12 -b files:4, at the same time as ring-dumpcap/ (the ring wrapped: files 1-10 were deleted by dumpcap)"

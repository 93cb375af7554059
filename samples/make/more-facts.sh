#!/usr/bin/env bash
# Rewrite the facts files of the captures made by ws-more-codes.sh from
# tshark (facts.py), then check them with the tshark-free reader
# (pcapcheck.py). Run after ws-more-codes.sh; like all-facts.sh, for the
# second set of close-code samples.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S="$HERE/.."
F="python3 $HERE/facts.py"
OK="TCP/IP checksums are mostly not filled in (checksum offload on lo/veth), as in any capture taken on the sending host."

$F "$S/ws-1001-client.pcap" --notes "Node ws 8 client, Python websockets server on 127.0.0.1:8800: one text message echoed, then the client closes with 1001 'page unloaded' (frame 10) and the server answers 1001 (frame 11). $OK"
$F "$S/ws-1002.pcap" --notes "Raw-socket client (make/ws_more_codes.py) and Python websockets server on 127.0.0.1:8801: a correct upgrade, one masked text message echoed, then an UNMASKED text frame 'hello' (frame 10); websockets fails the connection with Close 1002 'incorrect masking' (frame 11) and closes TCP at once (FIN, frame 12); the client sends no Close. $OK"
$F "$S/ws-1003.pcap" --notes "Node ws 8 server that accepts only text, Python websockets client on 127.0.0.1:8802: a text message echoed, then a 4-byte binary message (frame 10); the server closes with 1003 'binary messages are not supported' (frame 11), the client answers 1003 (frame 12). $OK"
$F "$S/ws-1007.pcap" --notes "Raw-socket client and Python websockets server on 127.0.0.1:8803: a correct upgrade, one masked text message echoed, then a masked text frame whose 7-byte payload ff fe 'hello' is not UTF-8 (frame 10); websockets fails the connection with Close 1007 'invalid start byte at position 0' (frame 11) and closes TCP (frame 12); the client sends no Close. $OK"
$F "$S/ws-1009-fragmented.pcap" --notes "Python websockets client and server (max_size 1024) on 127.0.0.1:8804: one 1500-byte text message sent as a text frame and continuation frames of 300 bytes each (frames 8-12) and an empty final continuation frame (frame 13); the server closes with 1009 'frame with 300 bytes after reading 900 bytes exceeds limit of 1024 bytes' (frame 15: the fourth fragment, frame 11, crossed the limit), the client answers 1009 (frame 16). $OK"
$F "$S/ws-1009-deflate.pcap" --notes "Python websockets client and server (max_size 65536) on 127.0.0.1:8805 with permessage-deflate (server_max_window_bits=12; client_max_window_bits=12): one 204800-byte text message, 668 bytes compressed on the wire (frame 8); the server closes with 1009 'frame exceeds limit of 65536 bytes' (frame 9), the client answers 1009 (frame 11). $OK"
$F "$S/ws-deflate.pcap" --notes "Python websockets client and server on 127.0.0.1:8806 with permessage-deflate and context takeover (server_max_window_bits=12; client_max_window_bits=12): text messages of 1990, 1990 (the same text again) and 330 bytes, 155, 26 and 28 bytes compressed on the wire, each echoed compressed to the same wire sizes; the client closes with 1000 'done' (frame 14), the server answers (frame 15). $OK"
$F "$S/ws-1013.pcap" --notes "Python websockets client and server on 127.0.0.1:8807: after the first message the server closes with 1013 'server at capacity, try again later' (frame 9), the client answers 1013 (frame 10). $OK"
$F "$S/ws-1014.pcap" --notes "Python websockets client and a Python websockets relay on 127.0.0.1:8808: on the first message the relay connects to its upstream 127.0.0.1:8829 (not captured), is refused, and closes the client with 1014 'upstream unavailable' (frame 9); the client answers 1014 (frame 10). $OK"
$F "$S/ws-empty-close.pcap" --notes "Node ws 8 client, Python websockets server on 127.0.0.1:8809: one text message echoed, then the client's ws.close() with no code sends a Close frame with an empty payload (frame 10); the server answers with an empty Close (frame 11). Both libraries report 1005. $OK"
$F "$S/ws-426.pcap" --notes "Node ws 8 client with protocolVersion 8 (Sec-WebSocket-Version: 8), tornado 6.6.1 server on 127.0.0.1:8810: tornado answers 'HTTP/1.1 426 Upgrade Required' with Sec-WebSocket-Version: 13 and an empty body (frame 6); ws aborts ('Unexpected server response: 426') and closes TCP first (FIN, frame 8). $OK"

python3 "$HERE/pcapcheck.py" "$S"/ws-1001-client.pcap.facts.json "$S"/ws-1002.pcap.facts.json \
    "$S"/ws-1003.pcap.facts.json "$S"/ws-1007.pcap.facts.json "$S"/ws-1009-fragmented.pcap.facts.json \
    "$S"/ws-1009-deflate.pcap.facts.json "$S"/ws-deflate.pcap.facts.json "$S"/ws-1013.pcap.facts.json \
    "$S"/ws-1014.pcap.facts.json "$S"/ws-empty-close.pcap.facts.json "$S"/ws-426.pcap.facts.json

#!/usr/bin/env bash
# ws-loopback-be.pcap: ws-loopback.pcap (made by ws-loopback.sh) rewritten
# in big-endian byte order by to_big_endian.py. Only the file and record
# headers change; every packet's bytes are as tcpdump captured them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python3 "$HERE/to_big_endian.py" "$HERE/../ws-loopback.pcap" "$HERE/../ws-loopback-be.pcap"

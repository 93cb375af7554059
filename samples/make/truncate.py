#!/usr/bin/env python3
"""Copy a little-endian pcap, cutting it KEEP bytes into its last record.

usage: truncate.py IN OUT KEEP   (prints the offset of the cut record)
"""
import struct
import sys

src, dst, keep = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, "rb").read()
off, last = 24, 24
while off + 16 <= len(data):
    caplen = struct.unpack_from("<I", data, off + 8)[0]
    last = off
    off += 16 + caplen
open(dst, "wb").write(data[: last + keep])
print(last)

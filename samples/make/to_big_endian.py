#!/usr/bin/env python3
"""Rewrite a little-endian pcap as a big-endian one (as written by a
big-endian host such as SPARC, PowerPC or s390x): every field of the file
header and of each record header is byte-swapped, the magic becomes
a1 b2 c3 d4 (or a1 b2 3c 4d for nanoseconds), and the packet bytes are
copied unchanged.

usage: to_big_endian.py IN.pcap OUT.pcap
"""
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
magic = struct.unpack_from("<I", data, 0)[0]
if magic not in (0xA1B2C3D4, 0xA1B23C4D):
    raise SystemExit(f"{src}: not a little-endian pcap")
out = bytearray()
out += struct.pack(">IHHiIII", *struct.unpack_from("<IHHiIII", data, 0))
off = 24
while off < len(data):
    if off + 16 > len(data):
        raise SystemExit(f"{src}: record header cut at {off}")
    sec, frac, caplen, origlen = struct.unpack_from("<IIII", data, off)
    if off + 16 + caplen > len(data):
        raise SystemExit(f"{src}: record cut at {off}")
    out += struct.pack(">IIII", sec, frac, caplen, origlen)
    out += data[off + 16:off + 16 + caplen]
    off += 16 + caplen
open(dst, "wb").write(out)

#!/usr/bin/env python3
"""UDP filler for ring-tcpdump (see field-ring.sh): tcpdump's -C counts in
millions of bytes (no smaller unit in 4.99.3), so to make it rotate every
~0.4 s this sends RATE bytes/s of 1400-byte UDP datagrams of zeros to
127.0.0.1:PORT, where it also listens (no ICMP unreachable), for SECONDS.
The script strips these packets from the ring files afterwards.

usage: field_filler.py PORT RATE SECONDS
"""
import socket
import sys
import time

port, rate, secs = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", port))
rx.setblocking(False)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
buf = bytes(1400)
start = time.monotonic()
sent = 0
while (now := time.monotonic()) - start < secs:
    if sent < (now - start) * rate:
        tx.sendto(buf, ("127.0.0.1", port))
        sent += len(buf)
        try:
            while rx.recv(2048):
                pass
        except BlockingIOError:
            pass
    else:
        time.sleep(0.001)
print(f"filler: {sent} bytes in {time.monotonic() - start:.2f} s to 127.0.0.1:{port}")

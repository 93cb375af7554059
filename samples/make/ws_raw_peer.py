#!/usr/bin/env python3
"""A raw-socket WebSocket client (socket module only) for samples that
need bytes no library would send (see ws-proxy.sh).

violation: ws_raw_peer.py violation PORT KIND
    Upgrade correctly to ws://127.0.0.1:PORT/KIND (the accept key is
    checked), send one masked frame that breaks RFC 6455, then read until
    the server closes the TCP connection, print every frame received, and
    close. KIND is one of:
      rsv1          text frame "hello" with RSV1 set, no extension negotiated
      opcode3       frame with reserved (non-control) opcode 0x3
      big-ping      ping with a 126-byte payload (control frames max 125)
      continuation  continuation frame with no message started
      close-1005    Close frame carrying code 1005 on the wire
      close-1byte   Close frame with a 1-byte payload

keepalive: ws_raw_peer.py keepalive PORT
    On ONE TCP connection: GET /health HTTP/1.1 (keep-alive), read the
    response, then the WebSocket upgrade GET /ws, one text message "hello"
    and its echo, then Close 1000, read the server's Close, wait for the
    server to close the TCP connection, close.
"""
import base64
import hashlib
import os
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def log(text):
    print(f"{time.time():.6f} raw-client: {text}", flush=True)


def frame(byte0, payload, length_field=None):
    """A masked client frame; byte0 holds FIN, RSV and opcode."""
    n = len(payload) if length_field is None else length_field
    if n < 126:
        head = bytes([byte0, 0x80 | n])
    elif n < 65536:
        head = bytes([byte0, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([byte0, 0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


VIOLATIONS = {
    "rsv1": frame(0x80 | 0x40 | 0x1, b"hello"),
    "opcode3": frame(0x80 | 0x3, b"hello"),
    "big-ping": frame(0x80 | 0x9, b"p" * 126),
    "continuation": frame(0x80 | 0x0, b"hello"),
    "close-1005": frame(0x80 | 0x8, struct.pack("!H", 1005)),
    "close-1byte": frame(0x80 | 0x8, b"\x03"),
}


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def fill(self):
        d = self.sock.recv(65536)
        if not d:
            self.eof = True
        self.buf += d

    def http_response(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
            if self.eof:
                raise SystemExit("EOF inside HTTP response")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        body_len = int(headers.get("content-length", 0))
        while len(self.buf) < body_len:
            self.fill()
        body, self.buf = self.buf[:body_len], self.buf[body_len:]
        return lines[0], headers, body

    def frame(self):
        """One server frame (unmasked), or None at EOF."""
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                n, off = b1 & 0x7F, 2
                if n == 126 and len(self.buf) >= 4:
                    n, off = struct.unpack_from("!H", self.buf, 2)[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, off = struct.unpack_from("!Q", self.buf, 2)[0], 10
                if n < 126 or off > 2:
                    if len(self.buf) >= off + n:
                        payload = self.buf[off:off + n]
                        self.buf = self.buf[off + n:]
                        return b0, payload
            if self.eof:
                return None
            self.fill()


def describe(b0, payload):
    op = b0 & 0x0F
    if op == 0x8:
        if len(payload) >= 2:
            return f"Close {struct.unpack('!H', payload[:2])[0]} {payload[2:].decode(errors='replace')!r}"
        return f"Close, payload {payload!r}"
    return f"opcode {op:#x}, {len(payload)} bytes {payload[:40]!r}"


def upgrade(sock, reader, port, path):
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\nUser-Agent: ws_raw_peer.py\r\n\r\n").encode())
    status, headers, _ = reader.http_response()
    want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    log(f"{path}: key {key} -> {status}, accept {headers.get('sec-websocket-accept')} "
        f"({'valid' if headers.get('sec-websocket-accept') == want else 'INVALID'})")
    if not status.startswith("HTTP/1.1 101") or headers.get("sec-websocket-accept") != want:
        raise SystemExit("upgrade failed")


def read_until_eof(reader):
    while (f := reader.frame()) is not None:
        log(f"received {describe(*f)}")
    log("server closed the TCP connection")


def violation(port, kind):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    reader = Reader(sock)
    upgrade(sock, reader, port, "/" + kind)
    time.sleep(0.05)
    sock.sendall(VIOLATIONS[kind])
    log(f"sent {kind}: {VIOLATIONS[kind].hex()}")
    read_until_eof(reader)
    sock.close()


def keepalive(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    reader = Reader(sock)
    sock.sendall((f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n"
                  "User-Agent: ws_raw_peer.py\r\n\r\n").encode())
    status, headers, body = reader.http_response()
    log(f"GET /health -> {status}, Connection: {headers.get('connection')}, body {body!r}")
    time.sleep(0.2)
    upgrade(sock, reader, port, "/ws")
    sock.sendall(frame(0x81, b"hello"))
    log(f"echo: {describe(*reader.frame())}")
    sock.sendall(frame(0x88, struct.pack("!H", 1000) + b"bye"))
    log("sent Close 1000 'bye'")
    read_until_eof(reader)
    sock.close()


if __name__ == "__main__":
    if sys.argv[1] == "violation":
        violation(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "keepalive":
        keepalive(int(sys.argv[2]))
    else:
        raise SystemExit(__doc__)

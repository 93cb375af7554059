#!/usr/bin/env python3
"""Python peers for the second set of close-code samples (see
ws-more-codes.sh). Servers are Python `websockets`; clients are Python
`websockets`, or a raw-socket client where the point is a frame that no
library would send.

server: ws_more_codes.py server PORT MODE     client: ws_more_codes.py client PORT MODE

Server modes:
  echo           echoes every message (no compression) until the client
                 closes; the peer of Node ws clients and of the raw clients.
  too-big-frag   echo server with max_size 1024 (no compression).
  too-big-deflate  echo server with max_size 65536 and the default
                 compression="deflate" (permessage-deflate, context takeover).
  deflate        echo server with compression="deflate".
  try-later      closes with 1013 after the first message, as a server at
                 capacity does.
  bad-gateway    a relay: on the first message it connects to its upstream
                 (ws://127.0.0.1:UPSTREAM_PORT, where nothing listens), fails,
                 and closes the client with 1014.

Client modes:
  raw-unmasked   raw socket: a correct upgrade, one masked text "hello"
                 (echoed), then an UNMASKED text frame "hello": the server
                 fails the connection with 1002.
  raw-bad-utf8   raw socket: a correct upgrade, "hello", then a masked text
                 frame whose payload is b"\\xff\\xfe" + b"hello" (not UTF-8):
                 the server fails the connection with 1007.
  too-big-frag   one text message sent as 5 fragments of 300 bytes (a text
                 frame, then continuation frames): 1500 bytes in all, each
                 fragment under the server's 1024 limit; the server closes
                 with 1009 when the total crosses it.
  too-big-deflate  one 204800-byte, highly compressible text message with
                 permessage-deflate: a few KB on the wire, 204800 bytes once
                 inflated; the server (max_size 65536) closes with 1009.
  deflate        3 text messages with permessage-deflate (the 2nd repeats the
                 1st, so context takeover makes it tiny on the wire), each
                 echoed; the client closes with 1000.
  binary         a text message (echoed), then a 4-byte binary message (for
                 the Node ws text-only server, which closes with 1003).
  try-later, bad-gateway  send "hello" and wait for the server's Close.
"""
import asyncio
import base64
import hashlib
import os
import socket
import struct
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

UPSTREAM_PORT = 8829  # the relay's upstream: nothing listens there


def report(role, ws):
    """Print the Close frames as the library saw them."""
    r, s = ws.protocol.close_rcvd, ws.protocol.close_sent
    print(f"{role}: received {r.code if r else None} {r.reason if r else ''!r}; "
          f"sent {s.code if s else None} {s.reason if s else ''!r}", flush=True)


def deflate_messages():
    # A JSON-ish record repeated with a counter: compresses well, inflates big.
    first = "".join(f'{{"seq":{i},"sym":"ACME","bid":101.25,"ask":101.27}}\n' for i in range(40))
    return [first, first, '{"op":"unsubscribe","sym":"ACME"}' * 10]


def big_message(size=204800):
    line = '{"level":"info","msg":"heartbeat ok","node":"edge-7"}\n'
    return (line * (size // len(line) + 1))[:size]


async def server(port, mode):
    done = asyncio.Event()

    async def handler(ws):
        try:
            if mode == "try-later":
                await ws.recv()
                await ws.close(1013, "server at capacity, try again later")
            elif mode == "bad-gateway":
                await ws.recv()
                try:
                    async with connect(f"ws://127.0.0.1:{UPSTREAM_PORT}/", open_timeout=2):
                        pass
                except OSError as e:
                    print(f"server: upstream: {type(e).__name__}: {e}", flush=True)
                    await ws.close(1014, "upstream unavailable")
            else:
                async for m in ws:
                    print(f"server: got a {len(m)}-{'char' if isinstance(m, str) else 'byte'} message", flush=True)
                    await ws.send(m)
        except ConnectionClosed:
            pass
        finally:
            done.set()
            await ws.wait_closed()
            report("server", ws)

    compression = "deflate" if mode in ("too-big-deflate", "deflate") else None
    max_size = {"too-big-frag": 1024, "too-big-deflate": 65536}.get(mode, 1 << 20)
    async with serve(handler, "127.0.0.1", port, compression=compression, max_size=max_size):
        await done.wait()
        await asyncio.sleep(0.5)


def raw_upgrade(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"User-Agent: ws_more_codes.py raw client\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("client: no upgrade answer")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    assert head.startswith(b"HTTP/1.1 101") and want in head, head
    return s, rest


def frame(opcode, payload, mask=True):
    n = len(payload)
    head = bytes([0x80 | opcode])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_frames(s, buf):
    """Read server frames until EOF; print each."""
    while True:
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            o = 2
            if n == 126:
                n, o = struct.unpack_from(">H", buf, 2)[0], 4
            elif n == 127:
                n, o = struct.unpack_from(">Q", buf, 2)[0], 10
            if len(buf) < o + n:
                break
            op, p = buf[0] & 0x0F, buf[o:o + n]
            buf = buf[o + n:]
            if op == 8:
                code = struct.unpack(">H", p[:2])[0] if len(p) >= 2 else None
                print(f"client: server sent Close {code} {p[2:].decode(errors='replace')!r}", flush=True)
            else:
                print(f"client: server sent opcode {op}: {p!r}", flush=True)
        chunk = s.recv(65536)
        if not chunk:
            print("client: server closed TCP", flush=True)
            return
        buf += chunk


def raw_client(port, mode):
    s, rest = raw_upgrade(port, "/" + mode)
    s.sendall(frame(1, b"hello"))
    # Wait for the echo (2 + 5 bytes) before the bad frame.
    while len(rest) < 7:
        rest += s.recv(4096)
    print(f"client: echo {rest[:7]!r}", flush=True)
    rest = rest[7:]
    if mode == "raw-unmasked":
        s.sendall(frame(1, b"hello", mask=False))
    else:
        s.sendall(frame(1, b"\xff\xfehello"))
    read_frames(s, rest)
    s.close()


async def client(port, mode):
    url = f"ws://127.0.0.1:{port}/{mode}"
    compression = "deflate" if mode in ("too-big-deflate", "deflate") else None
    try:
        async with connect(url, compression=compression, open_timeout=5, close_timeout=2,
                           max_size=1 << 20) as ws:
            try:
                if mode == "too-big-frag":
                    await ws.send(["%03d" % i + "f" * 297 for i in range(5)])
                    await ws.recv()
                elif mode == "too-big-deflate":
                    await ws.send(big_message())
                    await ws.recv()
                elif mode == "deflate":
                    for m in deflate_messages():
                        await ws.send(m)
                        assert await ws.recv() == m
                        print(f"client: {len(m)}-byte text message echoed", flush=True)
                    await ws.close(1000, "done")
                elif mode == "binary":
                    await ws.send("hello")
                    await ws.recv()
                    await ws.send(b"\x00\x01\x02\x03")
                    await ws.recv()
                else:
                    await ws.send("hello")
                    await ws.recv()
            except ConnectionClosed:
                pass
            finally:
                await ws.wait_closed()
                report("client", ws)
    except Exception as e:  # the ending is the point of the sample
        print(f"client: {type(e).__name__}: {e}", flush=True)


if __name__ == "__main__":
    role, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if role == "client" and mode.startswith("raw-"):
        raw_client(port, mode)
        sys.exit(0)
    coro = server(port, mode) if role == "server" else client(port, mode)
    try:
        asyncio.run(asyncio.wait_for(coro, 20))
    except Exception as e:
        print(f"{role}: {type(e).__name__}: {e}")

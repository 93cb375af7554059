#!/usr/bin/env python3
"""Python `websockets` echo server and client used to make the samples.

server: python3 ws_peer.py server HOST PORT
client: python3 ws_peer.py client URL [--messages N] [--size BYTES] [--close CODE]

The client sends N text messages and N binary messages (BYTES long each),
reads every echo, then closes with CODE and a reason. The server echoes and
exits after its first connection ends.
"""
import argparse
import asyncio
import os

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve


async def server(host, port):
    done = asyncio.Event()

    async def echo(ws):
        try:
            async for msg in ws:
                await ws.send(msg)
        finally:
            done.set()

    async with serve(echo, host, port, compression=None, max_size=1 << 24):
        await done.wait()
        await asyncio.sleep(0.3)


async def client(url, messages, size, close):
    async with connect(url, compression=None, max_size=1 << 24) as ws:
        for i in range(messages):
            await ws.send(("msg %d " % i + "x" * size)[:size])
            await ws.recv()
            await ws.send(os.urandom(size))
            await ws.recv()
        await ws.close(code=close, reason="client done")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("target", nargs="+")
    p.add_argument("--messages", type=int, default=3)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--close", type=int, default=1000)
    a = p.parse_args()
    if a.role == "server":
        asyncio.run(asyncio.wait_for(server(a.target[0], int(a.target[1])), 60))
    else:
        asyncio.run(asyncio.wait_for(client(a.target[0], a.messages, a.size, a.close), 60))


if __name__ == "__main__":
    main()

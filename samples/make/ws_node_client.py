#!/usr/bin/env python3
"""Python websockets client for ws-node.pcap: sends until the server closes."""
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def main(url):
    async with connect(url, compression=None) as ws:
        try:
            for i in range(10):
                await ws.send("hello %d" % i)
                await ws.recv()
        except ConnectionClosed as e:
            print("closed by server:", e.rcvd.code if e.rcvd else None, e.rcvd.reason if e.rcvd else None)


asyncio.run(asyncio.wait_for(main(sys.argv[1]), 30))

#!/usr/bin/env python3
"""Python websockets peers for the proxy and violation samples (see
ws-proxy.sh). Keepalive pings are off on both ends (ping_interval=None), so
a connection with nothing to say stays silent.

server: ws_proxy_peers.py server PORT [--connections N]
    Echo server on 127.0.0.1:PORT; prints how each connection ended (close
    code and reason it sent and received, from websockets itself) and exits
    after N connections have ended (default 1).

client: ws_proxy_peers.py client URL MODE
  idle        send "hello", read the echo, then stay silent and wait (up to
              --wait seconds, default 20) for the connection to end; print
              how it ended.
  bad-accept  try to open the connection; print why websockets refused it.
"""
import argparse
import asyncio
import logging
import sys
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


def log(role, text):
    print(f"{time.time():.6f} {role}: {text}", flush=True)


async def server(port, connections):
    ended = 0
    done = asyncio.Event()

    async def echo(ws):
        nonlocal ended
        peer = "%s:%d" % ws.remote_address[:2]
        log("server", f"{peer} opened {ws.request.path}")
        try:
            async for msg in ws:
                await ws.send(msg)
        except ConnectionClosed as e:
            log("server", f"{peer} {type(e).__name__}: {e}")
        else:
            log("server", f"{peer} closed: sent {ws.close_code} {ws.close_reason!r}")
        finally:
            ended += 1
            if ended >= connections:
                done.set()

    async with serve(echo, "127.0.0.1", port, compression=None, ping_interval=None):
        await done.wait()
        await asyncio.sleep(0.3)


async def client(url, mode, wait):
    try:
        async with connect(url, compression=None, ping_interval=None, proxy=None,
                           open_timeout=5, close_timeout=2) as ws:
            log("client", f"open; response Server: {ws.response.headers.get('Server')}")
            await ws.send("hello")
            log("client", f"echo {await ws.recv()!r}; now idle")
            start = time.monotonic()
            try:
                await asyncio.wait_for(ws.recv(), wait)
            except ConnectionClosed as e:
                log("client", f"after {time.monotonic() - start:.3f} s idle: {type(e).__name__}: {e}")
    except Exception as e:  # the ending is the point of the sample
        log("client", f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("target")
    p.add_argument("mode", nargs="?", default="idle")
    p.add_argument("--connections", type=int, default=1)
    p.add_argument("--wait", type=float, default=20)
    a = p.parse_args()
    logging.basicConfig(format="%(created)f %(name)s %(levelname)s %(message)s",
                        level=logging.INFO, stream=sys.stdout)
    coro = server(int(a.target), a.connections) if a.role == "server" else client(a.target, a.mode, a.wait)
    try:
        asyncio.run(asyncio.wait_for(coro, a.wait + 10))
    except Exception as e:
        log(a.role, f"{type(e).__name__}: {e}")

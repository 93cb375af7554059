#!/usr/bin/env python3
"""Python websockets peers that end a session in a chosen way, for the
close-code samples (see ws-codes.sh).

server: ws_codes.py server PORT MODE     client: ws_codes.py client PORT MODE

Modes:
  too-big    server max_size 1024; the client sends a 4000-byte text message:
             the server closes with 1009.
  internal   the server's handler raises: websockets closes with 1011.
  policy     the server closes with 1008 "token expired" after one message.
  restart    the server closes with 1012 "restarting" after one message.
  app        the client closes with 4403 "kicked" after one echo.
  killed     the server process is killed (SIGKILL) after one echo:
             the client sees the connection end without a Close frame.
  forbidden  the server refuses the upgrade with HTTP 403.
  notfound   the server refuses the upgrade with HTTP 404.
"""
import asyncio
import http
import os
import signal
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve


async def server(port, mode):
    done = asyncio.Event()

    async def handler(ws):
        try:
            msg = await ws.recv()
            if mode == "internal":
                raise RuntimeError("database unavailable")
            if mode == "policy":
                await ws.close(1008, "token expired")
            elif mode == "restart":
                await ws.close(1012, "restarting")
            elif mode == "killed":
                await ws.send(msg)
                await asyncio.sleep(0.2)
                os.kill(os.getpid(), signal.SIGKILL)
            else:
                await ws.send(msg)
                async for m in ws:
                    await ws.send(m)
        finally:
            done.set()

    def refuse(connection, request):
        if mode == "forbidden":
            return connection.respond(http.HTTPStatus.FORBIDDEN, "origin not allowed\n")
        if mode == "notfound":
            return connection.respond(http.HTTPStatus.NOT_FOUND, "no such endpoint\n")
        return None

    max_size = 1024 if mode == "too-big" else 1 << 20
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=max_size,
                     process_request=refuse):
        if mode in ("forbidden", "notfound"):
            await asyncio.sleep(2)
        else:
            await done.wait()
            await asyncio.sleep(0.5)


async def client(port, mode):
    url = f"ws://127.0.0.1:{port}/{mode}"
    try:
        async with connect(url, compression=None, open_timeout=5, close_timeout=2) as ws:
            if mode == "too-big":
                await ws.send("x" * 4000)
            else:
                await ws.send("hello")
            if mode == "app":
                await ws.recv()
                await ws.close(4403, "kicked")
                return
            await ws.recv()
            await asyncio.sleep(1.5)
    except Exception as e:  # the ending is the point of the sample
        print(f"client: {type(e).__name__}: {e}")


if __name__ == "__main__":
    role, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    coro = server(port, mode) if role == "server" else client(port, mode)
    try:
        asyncio.run(asyncio.wait_for(coro, 20))
    except Exception as e:
        print(f"{role}: {type(e).__name__}: {e}")

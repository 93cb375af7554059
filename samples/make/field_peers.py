#!/usr/bin/env python3
"""Python `websockets` (asyncio) peers for the field-shaped samples (see
field-midstream.sh, field-snap.sh, field-ring.sh). Every line is printed
with a timestamp, the role, the server port and the scenario; the scripts
send it to samples/field-logs/.

server: field_peers.py server PORT SCENARIO [--go FILE] [--hold S]
            [--cert CHAIN --key KEY [--keylog FILE]] [--lifetime S]
client: field_peers.py client URL SCENARIO [--go FILE] [--hold S]
            [--cafile PEM] [--interval S] [--size N]

Before the go file exists (the script creates it once the capture runs),
the client sends a text message, a binary message and a ping every
--interval seconds and the server echoes them; without --go, "go" is the
moment the session opens. --hold S after go the session ends, as its
SCENARIO says (the side that acts is in brackets):

  client-1000   [client] Close 1000 "client done"
  client-4000   [client] Close 4000 "app shutdown"
  server-1001   [server] Close 1001 "going away"
  server-4000   [server] Close 4000 "session expired"
  server-1011   [server] the handler raises RuntimeError: websockets
                closes with 1011
  client-killed [client] the client process SIGKILLs itself
  server-killed [server] the server process SIGKILLs itself
  deflate-1000  permessage-deflate on both ends; [client] Close 1000 "done"
  idle-1001     the client stops sending --quiet S (default 0.5) after
                opening, before the capture starts, so nothing crosses the
                wire until [server] Close 1001 "going away"
  big-1000      the client also sends text messages of 1500, 5000 and
                100000 bytes, then [client] Close 1000 "client done"
  refuse-403    the server's process_request answers HTTP 403
  tls-reject    (client only) websockets' *sync* client, whose ssl socket
                sends the alert OpenSSL produces when the certificate does
                not verify (asyncio's TLS does not, see README)
"""
import argparse
import asyncio
import http
import os
import signal
import ssl
import sys
import time

from websockets.exceptions import ConnectionClosed

ROLE = PORT = SCEN = "?"


def log(text):
    print(f"{time.time():.6f} {ROLE} {PORT} {SCEN}: {text}", flush=True)


async def wait_go(go):
    if go:
        while not os.path.exists(go):
            await asyncio.sleep(0.01)
        log("go")


def closed_text(e):
    """What websockets says about a closed connection, verbatim."""
    rcvd = f"{e.rcvd.code} {e.rcvd.reason!r}" if e.rcvd else "none"
    sent = f"{e.sent.code} {e.sent.reason!r}" if e.sent else "none"
    return f"{type(e).__name__}: {e} (rcvd {rcvd}, sent {sent}, rcvd_then_sent {e.rcvd_then_sent})"


async def server(a):
    from websockets.asyncio.server import serve
    done = asyncio.Event()
    conns = []

    async def echo(ws):
        async for msg in ws:
            await ws.send(msg)

    async def handler(ws):
        peer = "%s:%d" % ws.remote_address[:2]
        log(f"{peer} opened {ws.request.path}, extensions "
            f"{ws.response.headers.get('Sec-WebSocket-Extensions')!r}")
        task = asyncio.create_task(echo(ws))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # logged below
        try:
            await wait_go(a.go)
            acts = SCEN in ("server-1001", "server-4000", "server-1011", "server-killed", "idle-1001")
            if acts:
                await asyncio.wait({task}, timeout=a.hold)
            if SCEN in ("server-1001", "idle-1001"):
                log(f"{peer} sending Close 1001 'going away'")
                await ws.close(1001, "going away")
            elif SCEN == "server-4000":
                log(f"{peer} sending Close 4000 'session expired'")
                await ws.close(4000, "session expired")
            elif SCEN == "server-1011":
                log(f"{peer} handler raises RuntimeError('database unavailable')")
                raise RuntimeError("database unavailable")
            elif SCEN == "server-killed":
                log(f"{peer} SIGKILL to myself (pid {os.getpid()})")
                os.kill(os.getpid(), signal.SIGKILL)
            await task
        except ConnectionClosed as e:
            log(f"{peer} {closed_text(e)}")
        finally:
            conns.append((peer, ws))
            done.set()

    def refuse(connection, request):
        if SCEN == "refuse-403":
            log(f"refusing {request.path} with 403")
            return connection.respond(http.HTTPStatus.FORBIDDEN, "origin not allowed\n")
        return None

    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        if a.keylog:
            ctx.keylog_filename = a.keylog
    log(f"websockets {__import__('websockets').__version__}, listening on 127.0.0.1:{a.port}"
        + (f" with TLS ({ssl.OPENSSL_VERSION})" if ctx else ""))
    comp = "deflate" if SCEN == "deflate-1000" else None
    async with serve(handler, "127.0.0.1", a.port, ssl=ctx, compression=comp, ping_interval=None,
                     max_size=1 << 24, process_request=refuse):
        try:
            await asyncio.wait_for(done.wait(), a.lifetime)
        except asyncio.TimeoutError:
            log(f"no connection ended within {a.lifetime} s, stopping")
        await asyncio.sleep(0.5)
        for peer, ws in conns:
            log(f"{peer} {final(ws)}")


async def client(a):
    from websockets.asyncio.client import connect
    ctx = None
    if a.url.startswith("wss:"):
        ctx = ssl.create_default_context(cafile=a.cafile)
    comp = "deflate" if SCEN == "deflate-1000" else None
    try:
        async with connect(a.url, ssl=ctx, compression=comp, ping_interval=None, max_size=1 << 24,
                           open_timeout=5, close_timeout=3) as ws:
            local = "%s:%d" % ws.local_address[:2]
            log(f"{local} connected to {a.url}, extensions "
                f"{ws.response.headers.get('Sec-WebSocket-Extensions')!r}")
            reader = asyncio.create_task(read(ws))
            go = asyncio.create_task(wait_go(a.go))
            n = 0
            opened = time.monotonic()
            while not go.done():
                if SCEN == "idle-1001" and time.monotonic() - opened > a.quiet:
                    log(f"{local} {n} rounds; silent from now on ({a.quiet} s after opening)")
                    await go
                    break
                if not await talk(ws, n, a.size):
                    break
                n += 1
                await asyncio.sleep(a.interval)
            log(f"{local} {n} rounds before go")
            end = time.monotonic() + (0 if SCEN == "idle-1001" else a.hold)
            m = 0
            while time.monotonic() < end and not reader.done():
                if not await talk(ws, n + m, a.size):
                    break
                m += 1
                await asyncio.sleep(a.interval)
            log(f"{local} {m} rounds after go")
            if SCEN == "big-1000":
                for size in (1500, 5000, 100000):
                    await ws.send(("big %d " % size + "y" * size)[:size])
                    log(f"{local} sent a {size}-byte text message")
                    await asyncio.sleep(0.2)
            if SCEN == "client-killed":
                log(f"{local} SIGKILL to myself (pid {os.getpid()})")
                os.kill(os.getpid(), signal.SIGKILL)
            if SCEN in ("client-1000", "big-1000", "deflate-1000", "client-4000"):
                code, reason = {"client-4000": (4000, "app shutdown"),
                                "deflate-1000": (1000, "done")}.get(SCEN, (1000, "client done"))
                log(f"{local} sending Close {code} {reason!r}")
                await ws.close(code, reason)
            await reader
        log(f"{local} {final(ws)}")
    except ConnectionClosed as e:
        log(closed_text(e))
    except Exception as e:  # the ending is the point of the sample
        log(f"{type(e).__name__}: {e}")


def final(ws):
    """The connection's end as websockets' protocol object recorded it."""
    pr = ws.protocol
    f = lambda c: f"{c.code} {c.reason!r}" if c else "none"
    return (f"ended: close_code {ws.close_code} close_reason {ws.close_reason!r}; "
            f"close_rcvd {f(pr.close_rcvd)}, close_sent {f(pr.close_sent)}, "
            f"close_rcvd_then_sent {pr.close_rcvd_then_sent}")


async def talk(ws, n, size):
    """One round: a text message, a binary message, a ping. False once closed."""
    pad = "x" * max(0, size - 40)
    try:
        await ws.send(f'{{"seq": {n}, "kind": "text", "pad": "{pad}"}}')
        await ws.send(os.urandom(max(8, size // 2)))
        await ws.ping(b"p%d" % n)
    except ConnectionClosed:
        return False
    return True


async def read(ws):
    try:
        async for _ in ws:
            pass
        log(f"reader: connection closed: close_code {ws.close_code} close_reason {ws.close_reason!r}")
    except ConnectionClosed as e:
        log(f"reader: {closed_text(e)}")


def sync_reject(a):
    """websockets' threading client: its ssl.SSLSocket sends OpenSSL's alert."""
    from websockets.sync.client import connect
    ctx = ssl.create_default_context(cafile=a.cafile)
    log(f"websockets {__import__('websockets').__version__} sync client, {ssl.OPENSSL_VERSION}, "
        f"connecting to {a.url}")
    try:
        with connect(a.url, ssl=ctx, open_timeout=5) as ws:
            log(f"connected?! {ws.local_address}")
    except Exception as e:
        log(f"{type(e).__name__}: {e}")


def main():
    global ROLE, PORT, SCEN
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("where")
    p.add_argument("scenario")
    p.add_argument("--go")
    p.add_argument("--hold", type=float, default=1.5)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--keylog")
    p.add_argument("--cafile")
    p.add_argument("--lifetime", type=float, default=40)
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--size", type=int, default=80)
    p.add_argument("--quiet", type=float, default=0.5, help="idle-1001: stop talking S s after opening")
    a = p.parse_args()
    ROLE, SCEN = a.role, a.scenario
    if a.role == "server":
        a.port = int(a.where)
        PORT = a.port
        asyncio.run(server(a))
    else:
        a.url = a.where
        PORT = int(a.url.rsplit(":", 1)[1].split("/")[0])
        if SCEN == "tls-reject":
            sync_reject(a)
        else:
            asyncio.run(asyncio.wait_for(client(a), 60))


if __name__ == "__main__":
    main()

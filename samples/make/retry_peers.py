#!/usr/bin/env python3
"""Python peers for the retry samples (see retry-samples.sh). Every line is
printed with a timestamp (seconds since the epoch) and the role; the
`websockets` and asyncio loggers write to the same stream at INFO, so what
the library itself logs (e.g. "connect failed; reconnecting in 0.2
seconds: ConnectionRefusedError: ...") is kept verbatim.

server: retry_peers.py server HOSTS PORT [--cert CHAIN --key KEY]
                                         [--connections N] [--lifetime S]
    `websockets` (asyncio) echo server on each of HOSTS (comma-separated
    addresses) at PORT, with an ssl context when --cert is given (asyncio
    then runs in debug mode, the only mode in which it logs failed TLS
    handshakes). Exits after N connections have ended (default 1), or after
    S seconds (default 10).

client: retry_peers.py client URI [--cafile PEM] [--attempts N]
                                  [--open-timeout S] [--no-reconnect]
    `websockets` client. By default it uses the library's automatic
    reconnection, `async for ws in connect(uri)`, with the library's own
    decision of what is retryable (websockets.client.process_exception) and
    its backoff, whose timing comes from the WEBSOCKETS_BACKOFF_* variables
    (read when websockets is imported). --attempts N makes the N-th failure
    fatal, as an application that caps its retries does (a
    process_exception that wraps the library's). Once connected it sends
    "hello", waits for the echo and closes with 1000 "bye".
    --no-reconnect: one plain `async with connect(uri)`.
"""
import argparse
import asyncio
import logging
import ssl
import sys
import time


def log(role, text):
    print(f"{time.time():.6f} {role}: {text}", flush=True)


async def server(a):
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
    hosts = a.hosts.split(",")
    ended = 0
    done = asyncio.Event()

    async def echo(ws):
        nonlocal ended
        peer = "%s:%d" % ws.remote_address[:2]
        local = "%s:%d" % ws.local_address[:2]
        log("server", f"{peer} -> {local} opened {ws.request.path}")
        try:
            async for msg in ws:
                await ws.send(msg)
        except ConnectionClosed as e:
            log("server", f"{peer} {type(e).__name__}: {e}")
        else:
            log("server", f"{peer} closed: received {ws.close_code} {ws.close_reason!r}")
        finally:
            ended += 1
            if ended >= a.connections:
                done.set()

    log("server", f"websockets echo server on {', '.join(hosts)} port {a.port}"
        + (f", TLS with {a.cert}" if a.cert else ""))
    async with serve(echo, hosts if len(hosts) > 1 else hosts[0], a.port, ssl=ctx,
                     compression=None, ping_interval=None):
        log("server", "listening")
        try:
            await asyncio.wait_for(done.wait(), a.lifetime)
        except asyncio.TimeoutError:
            log("server", f"{ended} connection(s) ended within {a.lifetime} s, stopping")
        await asyncio.sleep(0.3)


async def client(a):
    import websockets.client
    from websockets.asyncio.client import connect

    ctx = ssl.create_default_context(cafile=a.cafile) if a.cafile else None
    failures = 0

    def process_exception(exc):
        nonlocal failures
        failures += 1
        log("client", f"attempt {failures} failed: {type(exc).__name__}: {exc}")
        if a.attempts and failures >= a.attempts:
            log("client", f"giving up after {failures} attempts")
            return exc
        return websockets.client.process_exception(exc)

    async def session(ws):
        sock = ws.transport.get_extra_info("socket")
        log("client", "connected %s:%d -> %s:%d" % (sock.getsockname()[:2] + sock.getpeername()[:2]))
        await ws.send("hello")
        log("client", f"echo {await ws.recv()!r}")
        await ws.close(1000, "bye")
        log("client", f"closed: sent {ws.close_code} {ws.close_reason!r}")

    b = websockets.client
    if a.no_reconnect:
        log("client", f"connecting to {a.uri}, open_timeout={a.open_timeout}")
    else:
        log("client", f"connecting to {a.uri} with automatic reconnection; backoff initial_delay="
            f"{b.BACKOFF_INITIAL_DELAY} min_delay={b.BACKOFF_MIN_DELAY} factor={b.BACKOFF_FACTOR} "
            f"max_delay={b.BACKOFF_MAX_DELAY}")
    kw = dict(ssl=ctx, compression=None, ping_interval=None, open_timeout=a.open_timeout)
    try:
        if a.no_reconnect:
            async with connect(a.uri, **kw) as ws:
                await session(ws)
        else:
            async for ws in connect(a.uri, process_exception=process_exception, **kw):
                await session(ws)
                break
    except Exception as e:  # what the application would log
        log("client", f"{type(e).__name__}: {e}")
        return 1
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="role", required=True)
    s = sub.add_parser("server")
    s.add_argument("hosts")
    s.add_argument("port", type=int)
    s.add_argument("--cert")
    s.add_argument("--key")
    s.add_argument("--connections", type=int, default=1)
    s.add_argument("--lifetime", type=float, default=10)
    c = sub.add_parser("client")
    c.add_argument("uri")
    c.add_argument("--cafile")
    c.add_argument("--attempts", type=int, default=0)
    c.add_argument("--open-timeout", type=float, default=10)
    c.add_argument("--no-reconnect", action="store_true")
    a = p.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(created).6f %(name)s %(levelname)s: %(message)s")
    if a.role == "server":
        debug = bool(a.cert)
        if debug:
            logging.getLogger("asyncio").setLevel(logging.DEBUG)
        asyncio.run(server(a), debug=debug)
    else:
        sys.exit(asyncio.run(client(a)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Python peers for the TLS samples (see tls-samples.sh). Every line is
printed with a timestamp and the role; errors are printed verbatim as
`ExceptionType: str(exception)`, which is what an application logging the
exception shows.

client: tls_peers.py client HOST PORT --sni NAME --cafile PEM [--max 1.2|1.3]
    Python `ssl` client (ssl.create_default_context(cafile=...): verifies
    the chain and the host name, the defaults). After the handshake it sends
    one HTTP/1.1 GET with `Connection: close` and reads to EOF.

wss-server: tls_peers.py wss-server PORT --cert CHAIN --key KEY
            [--keylog FILE] [--max 1.2|1.3] [--lifetime S]
    `websockets` (asyncio) echo server on 127.0.0.1:PORT with an ssl
    context. Exits after one connection has ended, or after S seconds
    (default 10). asyncio runs in debug mode, with its logger and
    websockets' on stderr: without debug mode (--no-debug) asyncio says
    nothing at all about a failed TLS handshake.
"""
import argparse
import asyncio
import logging
import socket
import ssl
import sys
import time


def log(role, text):
    print(f"{time.time():.6f} {role}: {text}", flush=True)


VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def client(a):
    ctx = ssl.create_default_context(cafile=a.cafile)
    if a.max:
        ctx.maximum_version = VERSIONS[a.max]
    log("client", f"{ssl.OPENSSL_VERSION}; connecting to {a.host}:{a.port}, server_hostname={a.sni}")
    try:
        with socket.create_connection((a.host, a.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=a.sni) as s:
                log("client", f"handshake done: {s.version()} {s.cipher()[0]}")
                s.sendall(f"GET / HTTP/1.1\r\nHost: {a.sni}\r\nConnection: close\r\n\r\n".encode())
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                status = data.split(b"\r\n", 1)[0].decode(errors="replace")
                log("client", f"response: {status!r}, {len(data)} bytes")
    except Exception as e:  # what the application would log
        log("client", f"{type(e).__name__}: {e}")
        return 1
    return 0


async def wss_server(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.max:
        ctx.maximum_version = VERSIONS[a.max]
    if a.keylog:
        ctx.keylog_filename = a.keylog
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    done = asyncio.Event()

    async def echo(ws):
        peer = "%s:%d" % ws.remote_address[:2]
        log("server", f"{peer} opened {ws.request.path} over {ws.transport.get_extra_info('ssl_object').version()}")
        try:
            async for msg in ws:
                await ws.send(msg)
        except ConnectionClosed as e:
            log("server", f"{peer} {type(e).__name__}: {e}")
        else:
            log("server", f"{peer} closed: received {ws.close_code} {ws.close_reason!r}")
        finally:
            done.set()

    log("server", f"{ssl.OPENSSL_VERSION}; listening on 127.0.0.1:{a.port}")
    async with serve(echo, "127.0.0.1", a.port, ssl=ctx, compression=None, ping_interval=None):
        try:
            await asyncio.wait_for(done.wait(), a.lifetime)
        except asyncio.TimeoutError:
            log("server", f"no connection ended within {a.lifetime} s, stopping")
        await asyncio.sleep(0.3)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="role", required=True)
    c = sub.add_parser("client")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("--sni", required=True)
    c.add_argument("--cafile", required=True)
    c.add_argument("--max", choices=VERSIONS)
    s = sub.add_parser("wss-server")
    s.add_argument("port", type=int)
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--keylog")
    s.add_argument("--max", choices=VERSIONS)
    s.add_argument("--lifetime", type=float, default=10)
    s.add_argument("--no-debug", action="store_true", help="asyncio's default mode, logging at INFO")
    a = p.parse_args()
    if a.role == "client":
        sys.exit(client(a))
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(created).6f %(name)s %(levelname)s: %(message)s")
    if not a.no_debug:
        logging.getLogger("asyncio").setLevel(logging.DEBUG)
    asyncio.run(wss_server(a), debug=not a.no_debug)


if __name__ == "__main__":
    main()

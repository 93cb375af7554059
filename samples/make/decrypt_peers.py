#!/usr/bin/env python3
"""Python peers for the key-log (decryption) samples, see decrypt-samples.sh.

Every line is printed with a timestamp and the role. The last line a peer
prints about a connection is `ROLE: result {json}`, which make/decrypt_facts.py
reads: the TLS version and suite the library reports, and how the WebSocket
ended as `websockets` reports it (close_code, close_reason, rcvd, sent,
rcvd_then_sent) or the exception raised. Errors are printed verbatim as
`ExceptionType: str(exception)`.

server: decrypt_peers.py server PORT --cert CHAIN --key KEY --keylog FILE
            --tls 1.2|1.3 [--cipher OPENSSL_NAME | --suite TLS_NAME]
            [--close-on N --code C --reason R] [--kill-after N]
            [--key-update-after N] [--deflate] [--lifetime S] [--asyncio-debug]
    `websockets` (asyncio) echo server on 127.0.0.1:PORT. --close-on N: the
    Nth message is not echoed, the server closes with C R instead.
    --kill-after N: after the Nth echo the server sends itself SIGKILL (no
    Close frame, no close_notify; the kernel closes the socket).
    --key-update-after N: before the Nth echo the server calls OpenSSL's
    SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) (ctypes; Python's ssl has
    no API for it), so the echo goes out after a KeyUpdate, under new keys.
    Exits after one connection has ended, or after S seconds (default 15).
    --asyncio-debug: asyncio's debug mode, the only mode in which asyncio
    logs a failed TLS handshake (websockets itself logs nothing then).

client: decrypt_peers.py client URL --sni NAME --cafile PEM --keylog FILE
            --tls 1.2|1.3 [--cipher ... | --suite ...] [--messages N]
            [--size B] [--close C --reason R] [--deflate]
    `websockets` (asyncio) client; URL's host is the address connected to,
    --sni the name sent and verified. Sends N messages (default 3) one at a
    time, each after the echo of the one before; then closes with C R, or
    (without --close) waits for the server to end the connection.

TLS pinning: --tls sets minimum_version = maximum_version. TLS 1.2: --cipher
goes to set_ciphers (one OpenSSL cipher name). TLS 1.3: Python 3.11's ssl
cannot set TLS 1.3 suites, so the script starts the peer with OPENSSL_CONF
pointing at a config whose system_default section has `Ciphersuites`;
--suite only checks that the context offers exactly that suite.
"""
import argparse
import asyncio
import ctypes
import json
import logging
import os
import signal
import ssl
import sys
import time

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
ROLE = "?"


def log(text):
    print(f"{time.time():.6f} {ROLE}: {text}", flush=True)


def result(**kw):
    log("result " + json.dumps(kw, sort_keys=True))


# --- OpenSSL through ctypes (KeyUpdate; extended master secret) -------------
# The SSL* of a Python ssl object: Modules/_ssl.c (3.11) starts PySSLSocket
# with PyObject_HEAD, then `PyObject *Socket`, then `SSL *ssl`. Checked
# before use: SSL_version() must be the version Python reports.
_libssl = None


def libssl():
    global _libssl
    if _libssl is None:
        _libssl = ctypes.CDLL("libssl.so.3")
        _libssl.SSL_version.argtypes = [ctypes.c_void_p]
        _libssl.SSL_key_update.argtypes = [ctypes.c_void_p, ctypes.c_int]
        _libssl.SSL_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
        _libssl.SSL_ctrl.restype = ctypes.c_long
    return _libssl


def ssl_pointer(sslobj):
    """SSL* of an ssl.SSLObject (asyncio's) or ssl.SSLSocket."""
    inner = sslobj._sslobj
    ptr = ctypes.c_void_p.from_address(id(inner) + object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p)).value
    want = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}[sslobj.version()]
    got = libssl().SSL_version(ptr)
    if got != want:
        raise RuntimeError(f"SSL* lookup failed: SSL_version {got:#x}, Python says {sslobj.version()}")
    return ptr


def extms(sslobj):
    """1 if the extended master secret was negotiated (TLS 1.2), else 0."""
    SSL_CTRL_GET_EXTMS_SUPPORT = 122
    return libssl().SSL_ctrl(ssl_pointer(sslobj), SSL_CTRL_GET_EXTMS_SUPPORT, 0, None)


def key_update(sslobj):
    SSL_KEY_UPDATE_REQUESTED = 1
    rc = libssl().SSL_key_update(ssl_pointer(sslobj), SSL_KEY_UPDATE_REQUESTED)
    if rc != 1:
        raise RuntimeError(f"SSL_key_update returned {rc}")


# --- contexts -----------------------------------------------------------------
def context(a, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = VERSIONS[a.tls]
    if a.cipher:
        ctx.set_ciphers(a.cipher)
    if a.suite:
        offered = [c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.3"]
        if offered != [a.suite]:
            raise SystemExit(f"TLS 1.3 suites {offered}, wanted [{a.suite}] (OPENSSL_CONF={os.environ.get('OPENSSL_CONF')})")
    if server:
        ctx.load_cert_chain(a.cert, a.key)
    else:
        ctx.load_verify_locations(a.cafile)
    ctx.keylog_filename = a.keylog
    return ctx


def tls_info(sslobj):
    info = {"tls_version": sslobj.version(), "cipher": sslobj.cipher()[0]}
    if sslobj.version() == "TLSv1.2":
        info["extended_master_secret"] = bool(extms(sslobj))
    return info


def close_info(ws):
    p = ws.protocol
    return {
        "close_code": ws.close_code,
        "close_reason": ws.close_reason,
        "rcvd": None if p.close_rcvd is None else {"code": p.close_rcvd.code, "reason": p.close_rcvd.reason},
        "sent": None if p.close_sent is None else {"code": p.close_sent.code, "reason": p.close_sent.reason},
        "rcvd_then_sent": p.close_rcvd_then_sent,
    }


def message(i, size):
    text = f"message {i} "
    if size:
        text = (text * (size // len(text) + 1))[:size]
    return text


# --- server -------------------------------------------------------------------
async def server(a):
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    ctx = context(a, server=True)
    done = asyncio.Event()

    async def handler(ws):
        peer = "%s:%d" % ws.remote_address[:2]
        sslobj = ws.transport.get_extra_info("ssl_object")
        info = tls_info(sslobj)
        log(f"{peer} opened {ws.request.path} over {info}"
            f" extensions={ws.response.headers.get('Sec-WebSocket-Extensions')}")
        n = 0
        error = None
        try:
            async for msg in ws:
                n += 1
                log(f"{peer} message {n}: {len(msg)} chars")
                if n == a.close_on:
                    log(f"{peer} closing with {a.code} {a.reason!r}")
                    await ws.close(a.code, a.reason)
                    break
                if n == a.key_update_after:
                    key_update(sslobj)
                    log(f"{peer} SSL_key_update(SSL_KEY_UPDATE_REQUESTED) called; the echo follows")
                await ws.send(msg)
                log(f"{peer} echoed {n}")
                if n == a.kill_after:
                    await asyncio.sleep(0.3)
                    log(f"{peer} sending SIGKILL to myself (pid {os.getpid()})")
                    os.kill(os.getpid(), signal.SIGKILL)
        except ConnectionClosed as e:
            error = f"{type(e).__name__}: {e}"
            log(f"{peer} {error}")
        await ws.wait_closed()
        c = close_info(ws)
        log(f"{peer} closed: close_code={c['close_code']} close_reason={c['close_reason']!r}"
            f" rcvd={ws.protocol.close_rcvd} sent={ws.protocol.close_sent}"
            f" rcvd_then_sent={c['rcvd_then_sent']}")
        result(role="server", library="websockets", peer=peer, messages_received=n, exception=error,
               **info, **c)
        done.set()

    log(f"{ssl.OPENSSL_VERSION}; listening on 127.0.0.1:{a.port}")
    async with serve(handler, "127.0.0.1", a.port, ssl=ctx, ping_interval=None,
                     compression="deflate" if a.deflate else None):
        try:
            await asyncio.wait_for(done.wait(), a.lifetime)
        except asyncio.TimeoutError:
            log(f"no connection ended within {a.lifetime} s, stopping")
        await asyncio.sleep(0.3)


# --- client -------------------------------------------------------------------
async def client(a):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    ctx = context(a, server=False)
    log(f"{ssl.OPENSSL_VERSION}; connecting to {a.url} with server_hostname={a.sni}")
    try:
        ws = await connect(a.url, ssl=ctx, server_hostname=a.sni, ping_interval=None,
                           compression="deflate" if a.deflate else None,
                           open_timeout=10, close_timeout=5)
    except Exception as e:  # what an application would log
        error = f"{type(e).__name__}: {e}"
        log(error)
        result(role="client", library="websockets", exception=error)
        return 1
    info = tls_info(ws.transport.get_extra_info("ssl_object"))
    log(f"open: {info} extensions={ws.response.headers.get('Sec-WebSocket-Extensions')}")
    error = None
    echoes = 0
    try:
        for i in range(1, a.messages + 1):
            await ws.send(message(i, a.size))
            reply = await ws.recv()
            echoes += 1
            log(f"reply {i}: {len(reply)} chars")
        if a.close is not None:
            log(f"closing with {a.close} {a.reason!r}")
            await ws.close(a.close, a.reason)
        else:
            log("waiting for the server to end the connection")
            await ws.recv()
    except ConnectionClosed as e:
        error = f"{type(e).__name__}: {e}"
        log(error)
    await ws.wait_closed()
    c = close_info(ws)
    log(f"closed: close_code={c['close_code']} close_reason={c['close_reason']!r}"
        f" rcvd={ws.protocol.close_rcvd} sent={ws.protocol.close_sent} rcvd_then_sent={c['rcvd_then_sent']}")
    result(role="client", library="websockets", replies_received=echoes, exception=error, **info, **c)
    return 0


def main():
    global ROLE
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="role", required=True)
    s = sub.add_parser("server")
    s.add_argument("port", type=int)
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--close-on", type=int, default=0)
    s.add_argument("--code", type=int, default=1000)
    s.add_argument("--reason", default="")
    s.add_argument("--kill-after", type=int, default=0)
    s.add_argument("--key-update-after", type=int, default=0)
    s.add_argument("--lifetime", type=float, default=15)
    s.add_argument("--asyncio-debug", action="store_true",
                   help="asyncio in debug mode: only then does it log a failed TLS handshake")
    c = sub.add_parser("client")
    c.add_argument("url")
    c.add_argument("--sni", required=True)
    c.add_argument("--cafile", required=True)
    c.add_argument("--messages", type=int, default=3)
    c.add_argument("--size", type=int, default=0)
    c.add_argument("--close", type=int)
    c.add_argument("--reason", default="")
    for x in (s, c):
        x.add_argument("--keylog", required=True)
        x.add_argument("--tls", choices=VERSIONS, required=True)
        x.add_argument("--cipher")
        x.add_argument("--suite")
        x.add_argument("--deflate", action="store_true")
    a = p.parse_args()
    ROLE = a.role
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(created).6f %(name)s %(levelname)s: %(message)s")
    log(f"python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}, websockets "
        f"{__import__('websockets').__version__}, OPENSSL_CONF={os.environ.get('OPENSSL_CONF')}")
    if a.role == "server":
        if a.asyncio_debug:
            logging.getLogger("asyncio").setLevel(logging.DEBUG)
        asyncio.run(server(a), debug=a.asyncio_debug)
    else:
        sys.exit(asyncio.run(client(a)))


if __name__ == "__main__":
    main()

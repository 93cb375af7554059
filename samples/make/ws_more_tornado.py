#!/usr/bin/env python3
"""Tornado WebSocket echo server for ws-426.pcap (see ws-more-codes.sh).

usage: ws_more_tornado.py PORT     (PYTHONPATH must find tornado)

Tornado's WebSocketHandler speaks only Sec-WebSocket-Version 13; to any other
version it answers "426 Upgrade Required" with "Sec-WebSocket-Version: 13"
(tornado/websocket.py, WebSocketHandler.get). The server runs for 3 s.
"""
import asyncio
import sys

import tornado
import tornado.web
import tornado.websocket


class Echo(tornado.websocket.WebSocketHandler):
    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


class Log(tornado.web.Application):
    def log_request(self, handler):
        r = handler.request
        print(f"server: tornado {tornado.version}: {r.method} {r.uri} "
              f"Sec-WebSocket-Version={r.headers.get('Sec-WebSocket-Version')!r} -> {handler.get_status()}",
              flush=True)


async def main(port):
    app = Log([(r"/.*", Echo)])
    app.listen(port, address="127.0.0.1")
    await asyncio.sleep(3)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

#!/usr/bin/env node
// WebSocket load server for the wsforensics benchmark capture.
//
// Usage: node ws-server.js PORT [deflate]
//
// Listens on 127.0.0.1:PORT only. Behaviour (driven by the client, see
// ws-client.js):
//   * replies to every text message with a JSON ack (sometimes large) and
//     echoes binary messages (sometimes with a different size);
//   * some connections also get unsolicited server pushes (text or binary,
//     up to 60 KB) on a timer;
//   * a text message {"cmd":...} asks the server to end the connection in a
//     given way: close with a code/reason, destroy the socket (FIN without a
//     Close frame), reset it (TCP RST), or ping;
//   * messages larger than maxPayload make ws itself close with 1009;
//   * an upgrade on path /forbidden is refused with HTTP 403.
// With "deflate" as second argument the server accepts permessage-deflate when
// the client offers it.
'use strict';

const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 9800);
const deflate = process.argv[3] === 'deflate';

// Cheap deterministic-ish content pools, generated once.
const { rnd, textPool } = require('./text-pool');
const WORDS = ('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ' +
  'incididunt ut labore et dolore magna aliqua order trade quote price volume symbol ' +
  'user session token heartbeat status update delta snapshot channel subscribe').split(' ');
const TEXT_POOL = textPool(WORDS);
const BIN_POOL = require('crypto').randomBytes(1 << 20);
function textOf(len) { const s = TEXT_POOL[rnd(TEXT_POOL.length)]; const o = rnd(s.length - len); return s.slice(o, o + len); }
function binOf(len) { const o = rnd(BIN_POOL.length - len); return BIN_POOL.subarray(o, o + len); }
function sizeSmall() { return 16 + rnd(600); }
function sizeLarge() { return 4096 + rnd(56 * 1024); }

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  backlog: 4096,
  maxPayload: 256 * 1024,
  clientTracking: false,
  perMessageDeflate: deflate ? { threshold: 512, serverNoContextTakeover: false } : false,
  handleProtocols: (protocols) => {
    for (const p of ['chat.v2', 'chat.v1', 'feed.json']) if (protocols.has(p)) return p;
    return false;
  },
  verifyClient: (info, cb) => {
    if (info.req.url.startsWith('/forbidden')) cb(false, 403, 'Forbidden');
    else cb(true);
  },
});

let seq = 0;
wss.on('connection', (ws, req) => {
  const id = ++seq;
  let pushTimer = null;
  let msgs = 0;
  ws.on('error', () => {});
  ws._socket.on('error', () => {});
  const stopPush = () => { if (pushTimer) { clearInterval(pushTimer); pushTimer = null; } };
  ws.on('close', stopPush);

  const send = (data, opts) => {
    if (ws.readyState !== 1 || ws.bufferedAmount > 1 << 20) return;
    ws.send(data, opts);
  };

  // Welcome message.
  send(JSON.stringify({ type: 'welcome', id, path: req.url, server: `ws-bench:${port}`, ts: Date.now() }));

  // ~30% of connections get unsolicited pushes.
  if (Math.random() < 0.3) {
    const every = 800 + rnd(4000);
    pushTimer = setInterval(() => {
      const r = Math.random();
      if (r < 0.5) send(JSON.stringify({ type: 'tick', seq: msgs, data: textOf(sizeSmall()) }));
      else if (r < 0.8) send(binOf(Math.random() < 0.7 ? sizeSmall() : sizeLarge()));
      else send(JSON.stringify({ type: 'snapshot', rows: textOf(sizeLarge()) }));
    }, every);
  }

  ws.on('message', (data, isBinary) => {
    msgs++;
    if (!isBinary && data.length < 512 && data[0] === 0x7b /* { */ && data.includes('"cmd"')) {
      let m;
      try { m = JSON.parse(data.toString()); } catch { return; }
      switch (m.cmd) {
        case 'close':
          stopPush();
          if (m.code === undefined) ws.close();
          else ws.close(m.code, m.reason || '');
          return;
        case 'fin':
          // Destroy the socket without a Close frame: FIN on the wire.
          stopPush();
          ws.terminate();
          return;
        case 'rst':
          stopPush();
          ws._socket.resetAndDestroy();
          return;
        case 'ping':
          ws.ping(Buffer.from('srv-ping-' + msgs));
          return;
        default:
          return;
      }
    }
    if (isBinary) {
      // Echo, sometimes truncated, sometimes expanded.
      const r = Math.random();
      if (r < 0.6) send(data, { binary: true });
      else if (r < 0.8) send(data.subarray(0, Math.max(1, data.length >> 2)), { binary: true });
      else send(binOf(sizeLarge()), { binary: true });
    } else {
      const r = Math.random();
      if (r < 0.75) send(JSON.stringify({ type: 'ack', n: msgs, len: data.length, ts: Date.now() }));
      else if (r < 0.95) send(JSON.stringify({ type: 'result', n: msgs, body: textOf(sizeSmall()) }));
      else send(JSON.stringify({ type: 'result', n: msgs, body: textOf(sizeLarge()) }));
    }
  });
});

wss.on('listening', () => process.stderr.write(`ws-server listening on 127.0.0.1:${port}${deflate ? ' (permessage-deflate)' : ''}\n`));
wss.on('error', (e) => { process.stderr.write(`ws-server ${port}: ${e.message}\n`); process.exit(1); });
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

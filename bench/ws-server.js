#!/usr/bin/env node
// WebSocket load server for the wsforensics benchmark captures.
//
// Usage: node ws-server.js PORT [deflate] [OPTIONS]
//   --host ADDR            listen address (default 127.0.0.1)
//   --cert FILE --key FILE serve wss (https) with this certificate and key
//   --tls-min V --tls-max V TLS versions allowed, e.g. TLSv1.2 (Node defaults)
//   --client-ca FILE       demand a client certificate signed by this CA
//                          (clients without one get a TLS alert)
//   --keylog FILE          append the TLS key log (NSS format) of every session
//   --truth FILE           append one JSON line per connection: how it ended as
//                          this server saw it (see gen-netns.sh)
//
// Listens on 127.0.0.1:PORT unless --host is given. Behaviour (driven by the
// client, see ws-client.js):
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
const fs = require('fs');

const args = process.argv.slice(2);
const port = Number(args[0] || 9800);
const deflate = args[1] === 'deflate';
const opt = {};
for (let i = deflate ? 2 : 1; i < args.length; i += 2) {
  if (!args[i].startsWith('--') || args[i + 1] === undefined) {
    process.stderr.write(`ws-server: bad argument '${args[i]}'\n`);
    process.exit(2);
  }
  opt[args[i].slice(2)] = args[i + 1];
}
const host = opt.host || '127.0.0.1';
const tls = opt.cert !== undefined;

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

// Per-connection ground truth: lines buffered and appended once a second,
// and at exit (with the connections still open then, t_end null).
const truth = [];
const open = new Set();
function record(r) { if (opt.truth) truth.push(JSON.stringify(r)); }
function flushTruth() {
  if (!opt.truth || truth.length === 0) return;
  fs.appendFileSync(opt.truth, truth.join('\n') + '\n');
  truth.length = 0;
}
if (opt.truth) setInterval(flushTruth, 1000).unref();
const peerOf = (sock) => `${sock.remoteAddress}:${sock.remotePort}`;
const self = `${host}:${port}`;

let server = null;
if (tls) {
  server = require('https').createServer({
    cert: fs.readFileSync(opt.cert),
    key: fs.readFileSync(opt.key),
    minVersion: opt['tls-min'],
    maxVersion: opt['tls-max'],
    ...(opt['client-ca'] ? { ca: fs.readFileSync(opt['client-ca']), requestCert: true, rejectUnauthorized: true } : {}),
  });
  // The raw socket remembers its peer: a failed TLS socket may no longer know it.
  server.on('connection', (raw) => { raw.wsbPeer = peerOf(raw); raw.wsbStart = Date.now(); });
  server.on('tlsClientError', (err, sock) => {
    const raw = sock._parent || sock;
    record({ side: 'server', client: raw.wsbPeer || null, server: self, t_start: raw.wsbStart || null,
      t_end: Date.now(), tls_error: err.code || err.message });
  });
  if (opt.keylog) {
    const keys = fs.createWriteStream(opt.keylog, { flags: 'a' });
    server.on('keylog', (line) => keys.write(line));
  }
}

const wss = new WebSocketServer({
  ...(server ? { server } : { host, port }),
  backlog: 4096,
  maxPayload: 256 * 1024,
  clientTracking: false,
  perMessageDeflate: deflate ? { threshold: 512, serverNoContextTakeover: false } : false,
  handleProtocols: (protocols) => {
    for (const p of ['chat.v2', 'chat.v1', 'feed.json']) if (protocols.has(p)) return p;
    return false;
  },
  verifyClient: (info, cb) => {
    if (info.req.url.startsWith('/forbidden')) {
      record({ side: 'server', client: peerOf(info.req.socket), server: self, t_start: Date.now(),
        t_end: Date.now(), http_status: 403 });
      cb(false, 403, 'Forbidden');
    } else {
      cb(true);
    }
  },
});
if (server) server.listen(port, host, 4096);

let seq = 0;
wss.on('connection', (ws, req) => {
  const id = ++seq;
  let pushTimer = null;
  let msgs = 0;
  // What this server did to end the connection, and what it saw.
  const rec = opt.truth ? {
    side: 'server', client: peerOf(req.socket), server: self, t_start: Date.now(), t_end: null,
    tls: tls ? req.socket.getProtocol() : null, ext: ws.extensions, action: null, error: null,
    code: null, reason: null,
  } : null;
  if (rec) open.add(rec);
  ws.on('error', (e) => { if (rec && !rec.error) rec.error = e.code || e.message; });
  ws._socket.on('error', () => {});
  const stopPush = () => { if (pushTimer) { clearInterval(pushTimer); pushTimer = null; } };
  ws.on('close', (code, reason) => {
    stopPush();
    if (!rec) return;
    open.delete(rec);
    Object.assign(rec, { t_end: Date.now(), code, reason: reason.toString(),
      close_sent: ws._closeFrameSent, close_received: ws._closeFrameReceived });
    record(rec);
  });
  const act = (a) => { if (rec) rec.action = a; };

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
          act(m.code === undefined ? 'close' : `close ${m.code}`);
          if (m.code === undefined) ws.close();
          else ws.close(m.code, m.reason || '');
          return;
        case 'fin':
          // Destroy the socket without a Close frame: FIN on the wire.
          stopPush();
          act('fin');
          ws.terminate();
          return;
        case 'rst':
          stopPush();
          act('rst');
          // On wss the TCP socket is under the TLS one (RST works only there).
          (tls ? ws._socket._parent : ws._socket).resetAndDestroy();
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

wss.on('listening', () => process.stderr.write(`ws-server listening on ${host}:${port}${tls ? ' (wss)' : ''}${deflate ? ' (permessage-deflate)' : ''}\n`));
wss.on('error', (e) => { process.stderr.write(`ws-server ${port}: ${e.message}\n`); process.exit(1); });
const bye = () => {
  for (const rec of open) record(rec); // still open: t_end stays null
  flushTruth();
  process.exit(0);
};
process.on('SIGTERM', bye);
process.on('SIGINT', bye);

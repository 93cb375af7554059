#!/usr/bin/env node
// WebSocket load client for the wsforensics benchmark capture.
//
// Usage: node ws-client.js [STATS_FILE]
// Environment:
//   WSB_CONNS        concurrent connection slots (default 4000)
//   WSB_PORTS        comma-separated server ports on 127.0.0.1 (default 9800,9801)
//   WSB_INTERVAL_MS  mean pause between a connection's messages (default 2000)
//   WSB_FOREVER      fraction of sessions that never end by themselves (default 0.15)
//   WSB_RAMP         new connections per second during ramp-up (default 1000)
//   WSB_BIG          binary blobs are 16 .. WSB_BIG-1 bytes (default 49168)
// For gen-netns.sh (all optional; without them the client behaves as above):
//   WSB_TARGETS      JSON list of servers instead of WSB_PORTS:
//                    [{"name":"wss-tls13","url":"wss://10.77.0.1:9803","weight":15,"tls":"1.3"}]
//                    "tls" is the only version that server speaks; wss targets
//                    also get the TLS failure endings (see TLS_ENDINGS)
//   WSB_CA           CA certificate (PEM) the client trusts for wss
//   WSB_SERVERNAME   SNI and name checked in the server certificate
//   WSB_TRUTH        append one JSON line per session: target, local ip:port,
//                    planned ending, what the client saw (see gen-netns.sh)
//
// Each slot runs sessions one after another: connect, exchange a random number
// of messages (text JSON of tens of bytes to tens of KB, binary blobs, some
// fragmented messages, pings), then end the session in one of many ways (see
// ENDINGS) and reconnect after a short pause. A fraction of sessions never end:
// they are still open when the capture stops.
'use strict';

const WebSocket = require('ws');
const fs = require('fs');
const crypto = require('crypto');

const CONNS = Number(process.env.WSB_CONNS || 4000);
const PORTS = (process.env.WSB_PORTS || '9800,9801').split(',').map(Number);
const INTERVAL = Number(process.env.WSB_INTERVAL_MS || 2000);
const FOREVER = Number(process.env.WSB_FOREVER || 0.15);
const RAMP = Number(process.env.WSB_RAMP || 1000);
const STATS_FILE = process.argv[2] || null;
const BIG = Number(process.env.WSB_BIG || 16 + 48 * 1024);
const TARGETS = process.env.WSB_TARGETS
  ? JSON.parse(process.env.WSB_TARGETS)
  : PORTS.map((p) => ({ name: `ws-${p}`, url: `ws://127.0.0.1:${p}`, weight: 1 }));
const TARGET_TOTAL = TARGETS.reduce((a, t) => a + t.weight, 0);
const CA = process.env.WSB_CA ? fs.readFileSync(process.env.WSB_CA) : undefined;
const SERVERNAME = process.env.WSB_SERVERNAME;
const TRUTH_FILE = process.env.WSB_TRUTH || null;

const { rnd, textPool } = require('./text-pool');
const WORDS = ('alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike ' +
  'november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu ' +
  'buy sell bid ask fill cancel amend qty px user room message hello typing presence').split(' ');
const TEXT_POOL = textPool(WORDS);
const BIN_POOL = crypto.randomBytes(1 << 20);
function textOf(len) { const s = TEXT_POOL[rnd(TEXT_POOL.length)]; const o = rnd(s.length - len); return s.slice(o, o + len); }
function binOf(len) { const o = rnd(BIN_POOL.length - len); return BIN_POOL.subarray(o, o + len); }

// Ways a finite session ends, with weights.
//   client-*: the client acts; server-*: the client asks the server (text
//   command) to act.
const ENDINGS = [
  ['client-close-1000', 22],
  ['client-close-1001', 9],
  ['client-close-nocode', 3], // empty Close body (1005 at the receiver)
  ['client-close-4xxx', 9],
  ['client-close-3xxx', 2],
  ['client-close-then-destroy', 3], // Close sent, socket destroyed without waiting
  ['client-fin', 8], // socket destroyed, no Close frame
  ['client-rst', 7], // socket reset (RST), no Close frame
  ['server-close-1000', 4],
  ['server-close-1008', 7],
  ['server-close-1011', 7],
  ['server-close-4xxx', 4],
  ['server-fin', 5],
  ['server-rst', 5],
  ['server-1009-too-big', 2], // client sends > maxPayload, ws closes 1009
  ['handshake-403', 1], // upgrade refused, never a WebSocket
];
// Only for wss targets.
const TLS_ENDINGS = [
  // Offer only versions the server does not speak: the server answers the
  // ClientHello with a protocol_version alert.
  ['tls-version-mismatch', 2],
  // Trust no CA: Node checks the certificate after the server's flight and
  // closes the socket without an alert (and, in TLS 1.3, without Finished).
  ['tls-untrusted', 1],
];
const ENDING_TOTAL = ENDINGS.reduce((a, [, w]) => a + w, 0);
const TLS_ENDING_TOTAL = ENDING_TOTAL + TLS_ENDINGS.reduce((a, [, w]) => a + w, 0);
function pickEnding(secure) {
  let r = Math.random() * (secure ? TLS_ENDING_TOTAL : ENDING_TOTAL);
  for (const [name, w] of secure ? ENDINGS.concat(TLS_ENDINGS) : ENDINGS) { if ((r -= w) < 0) return name; }
  return ENDINGS[0][0];
}
function pickTarget() {
  if (!process.env.WSB_TARGETS) return TARGETS[rnd(TARGETS.length)];
  let r = Math.random() * TARGET_TOTAL;
  for (const t of TARGETS) { if ((r -= t.weight) < 0) return t; }
  return TARGETS[0];
}
const REASONS_4XXX = [[4000, 'session expired'], [4001, 'unauthorized'], [4003, 'forbidden room'],
  [4008, 'rate limited'], [4100, 'client upgrade required'], [4500, ''], [4999, 'shutdown requested by user']];
const REASONS_1008 = ['policy violation', 'invalid token', ''];
const REASONS_1011 = ['internal error', 'upstream unavailable', 'db timeout'];

const stats = {
  started_sessions: 0, opened: 0, open_now: 0, forever_sessions: 0, handshake_errors: 0,
  msgs_sent: 0, bytes_sent: 0, msgs_recv: 0, bytes_recv: 0, endings: {}, close_codes_seen: {},
};
for (const [name] of ENDINGS) stats.endings[name] = 0;
if (TARGETS.some((t) => t.url.startsWith('wss:'))) for (const [name] of TLS_ENDINGS) stats.endings[name] = 0;

// Per-session ground truth, buffered and appended once a second; at exit the
// sessions still open are written with t_end null.
const truth = [];
const openRecs = new Set();
function flushTruth() {
  if (!TRUTH_FILE || truth.length === 0) return;
  fs.appendFileSync(TRUTH_FILE, truth.join('\n') + '\n');
  truth.length = 0;
}
if (TRUTH_FILE) setInterval(flushTruth, 1000).unref();

function writeStats() {
  if (!STATS_FILE) return;
  try { fs.writeFileSync(STATS_FILE, JSON.stringify({ ts: Date.now(), ...stats }, null, 1)); } catch {}
}

function nextMessage() {
  // A message to send, or null for "something else" (fragmented message or
  // ping). Mostly small chat/event JSON, some documents and binary blobs of
  // up to ~48 KB.
  const r = Math.random();
  if (r < 0.50) {
    return JSON.stringify({ type: 'chat', room: 'r' + rnd(50), text: textOf(20 + rnd(300)) });
  } else if (r < 0.65) {
    return JSON.stringify({ type: 'event', k: rnd(1e6), v: textOf(8 + rnd(64)) });
  } else if (r < 0.71) {
    return JSON.stringify({ type: 'doc', body: textOf(2048 + rnd(38 * 1024)) });
  } else if (r < 0.93) {
    return binOf(16 + rnd(Math.random() < 0.85 ? 1024 : BIG - 16));
  }
  return null; // fragmented message or ping, see tick()
}

function session(slot) {
  stats.started_sessions++;
  const target = pickTarget();
  const secure = target.url.startsWith('wss:');
  const forever = Math.random() < FOREVER;
  const ending = forever ? null : pickEnding(secure);
  if (forever) stats.forever_sessions++;
  const path = ending === 'handshake-403' ? '/forbidden' : ['/ws', '/feed', '/chat?room=' + rnd(100), '/api/v1/stream'][rnd(4)];
  const protos = Math.random() < 0.7 ? [['chat.v2', 'chat.v1'], ['feed.json'], ['chat.v1']][rnd(3)] : undefined;
  const rec = TRUTH_FILE ? {
    side: 'client', target: target.name, client: null, server: target.url.replace(/^wss?:\/\//, ''),
    t_start: Date.now(), t_open: null, t_end_action: null, t_end: null, ending: ending || 'forever',
    planned_code: null, tls: null, ext: null, code: null, reason: null, error: null, error_message: null,
  } : null;
  if (rec) openRecs.add(rec);
  const tlsOpts = {};
  if (secure) {
    if (ending === 'tls-version-mismatch') {
      if (target.tls === '1.3') tlsOpts.maxVersion = 'TLSv1.2'; else tlsOpts.minVersion = 'TLSv1.3';
    }
    if (ending !== 'tls-untrusted') tlsOpts.ca = CA;
    if (SERVERNAME) tlsOpts.servername = SERVERNAME;
  }
  const ws = new WebSocket(`${target.url}${path}`, protos, {
    perMessageDeflate: Math.random() < 0.5, // only port with deflate server accepts it
    handshakeTimeout: 20000,
    ...tlsOpts,
    ...(rec || secure ? { createConnection: connect(rec, secure) } : {}),
  });
  // Messages before ending: mostly short sessions, some long ones.
  let budget = 2 + Math.floor(-Math.log(1 - Math.random()) * (Math.random() < 0.7 ? 6 : 40));
  const meanGap = INTERVAL * (0.3 + Math.random() * 1.4);
  let timer = null;
  let done = false;
  let wasOpen = false;
  const finish = () => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    if (wasOpen) stats.open_now--;
    if (rec) {
      rec.t_end = Date.now();
      openRecs.delete(rec);
      truth.push(JSON.stringify(rec));
    }
    if (!forever) setTimeout(() => session(slot), 50 + rnd(1500));
  };

  ws.on('error', (e) => {
    if (!wasOpen) stats.handshake_errors++;
    if (rec && !rec.error) { rec.error = e.code || null; rec.error_message = e.message; }
    // A TLS failure ends the session before 'open'; ws then emits 'close' 1006.
    if (!wasOpen && ending && ending.startsWith('tls-')) stats.endings[ending]++;
  });
  ws.on('unexpected-response', (req, res) => {
    stats.handshake_errors++;
    if (ending) stats.endings[ending]++;
    if (rec) rec.http_status = res.statusCode;
    res.resume();
    req.destroy();
    finish();
  });
  ws.on('close', (code, reason) => {
    stats.close_codes_seen[code] = (stats.close_codes_seen[code] || 0) + 1;
    // What went over the wire, as ws knows it: a Close frame written to the
    // socket (its write callback came), a Close frame received.
    if (rec) {
      Object.assign(rec, { code, reason: reason.toString(), close_sent: ws._closeFrameSent,
        close_received: ws._closeFrameReceived });
    }
    finish();
  });
  ws.on('message', (data) => { stats.msgs_recv++; stats.bytes_recv += data.length; });

  const send = (data, opts) => {
    stats.msgs_sent++;
    stats.bytes_sent += typeof data === 'string' ? data.length : data.length;
    ws.send(data, opts);
  };

  const end = () => {
    stats.endings[ending]++;
    if (rec) rec.t_end_action = Date.now();
    // The code this ending puts in the first Close frame, for the truth file.
    const planned = (c) => { if (rec) rec.planned_code = c; return c; };
    const cmd = (o) => { planned(o.code); send(JSON.stringify(o)); };
    switch (ending) {
      case 'client-close-1000': ws.close(planned(1000), ['bye', '', 'normal closure', 'logout'][rnd(4)]); break;
      case 'client-close-1001': ws.close(planned(1001), ['going away', 'page unload', ''][rnd(3)]); break;
      case 'client-close-nocode': ws.close(); break;
      case 'client-close-4xxx': { const [c, t] = REASONS_4XXX[rnd(REASONS_4XXX.length)]; ws.close(planned(c), t); break; }
      case 'client-close-3xxx': ws.close(planned(3000 + rnd(1000)), 'library code'); break;
      case 'client-close-then-destroy': ws.close(planned(1000), 'bye'); setImmediate(() => ws._socket && ws._socket.destroy()); break;
      case 'client-fin': ws.terminate(); break;
      case 'client-rst': (ws._socket.wsbRaw || ws._socket).resetAndDestroy(); break;
      case 'server-close-1000': cmd({ cmd: 'close', code: 1000, reason: 'done' }); break;
      case 'server-close-1008': cmd({ cmd: 'close', code: 1008, reason: REASONS_1008[rnd(REASONS_1008.length)] }); break;
      case 'server-close-1011': cmd({ cmd: 'close', code: 1011, reason: REASONS_1011[rnd(REASONS_1011.length)] }); break;
      case 'server-close-4xxx': { const [c, t] = REASONS_4XXX[rnd(REASONS_4XXX.length)]; cmd({ cmd: 'close', code: c, reason: t }); break; }
      case 'server-fin': cmd({ cmd: 'fin' }); break;
      case 'server-rst': cmd({ cmd: 'rst' }); break;
      case 'server-1009-too-big': planned(1009); send(binOf(300 * 1024)); break;
      default: ws.close(1000); break;
    }
  };

  const tick = () => {
    timer = null;
    if (done || ws.readyState !== WebSocket.OPEN) return;
    if (!forever && budget-- <= 0) { end(); return; }
    if (ws.bufferedAmount < 1 << 20) {
      const m = nextMessage();
      if (m !== null) {
        send(m);
      } else {
        const r = Math.random();
        if (r < 0.4) {
          // Fragmented message: 2-5 fragments.
          const n = 2 + rnd(4);
          const binary = Math.random() < 0.5;
          for (let i = 0; i < n; i++) {
            const part = binary ? binOf(64 + rnd(4096)) : textOf(64 + rnd(4096));
            send(part, { binary, fin: i === n - 1 });
          }
        } else if (r < 0.8) {
          ws.ping(Buffer.from('p' + rnd(1e6)));
        } else {
          send(JSON.stringify({ cmd: 'ping' })); // server pings us, ws auto-pongs
        }
      }
    }
    timer = setTimeout(tick, -Math.log(1 - Math.random()) * meanGap);
  };

  ws.on('open', () => {
    wasOpen = true;
    if (rec) {
      rec.t_open = Date.now();
      rec.tls = secure ? ws._socket.getProtocol() : null;
      rec.ext = ws.extensions;
    }
    stats.opened++;
    stats.open_now++;
    send(JSON.stringify({ type: 'hello', slot, client: 'ws-bench', auth: 'tok_' + rnd(1e9).toString(36) }));
    timer = setTimeout(tick, Math.random() * meanGap);
  });
}

// ws's own connect functions, except that TLS runs over a TCP socket made
// here: resetAndDestroy() (RST) works only on that one (wsbRaw). And the
// local ip:port, the key of the truth file, is noted as soon as TCP is up,
// also when TLS then fails.
function connect(rec, secure) {
  const net = require('net');
  return (options) => {
    options.path = secure ? undefined : options.socketPath;
    const raw = net.connect(options);
    if (rec) raw.once('connect', () => { rec.client = `${raw.localAddress}:${raw.localPort}`; });
    if (!secure) return raw;
    raw.on('error', () => {}); // reported by the TLS socket
    if (!options.servername && options.servername !== '') {
      options.servername = net.isIP(options.host) ? '' : options.host;
    }
    const sock = require('tls').connect({ ...options, socket: raw });
    sock.wsbRaw = raw;
    return sock;
  };
}

// Ramp up: start RAMP slots per second.
let started = 0;
const rampTimer = setInterval(() => {
  const n = Math.min(Math.ceil(RAMP / 10), CONNS - started);
  for (let i = 0; i < n; i++) session(started++);
  if (started >= CONNS) clearInterval(rampTimer);
}, 100);

// Statistics are rewritten every second; SIGUSR2 writes a final snapshot
// (sent just before the capture stops) and freezes the file.
let frozen = false;
setInterval(() => { if (!frozen) writeStats(); }, 1000);
process.on('SIGUSR2', () => { if (!frozen) writeStats(); frozen = true; });
const bye = () => {
  if (!frozen) writeStats();
  for (const rec of openRecs) truth.push(JSON.stringify(rec)); // still open: t_end null
  flushTruth();
  process.exit(0);
};
process.on('SIGTERM', bye);
process.on('SIGINT', bye);

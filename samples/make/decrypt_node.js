// Node peers for the key-log (decryption) samples, see decrypt-samples.sh.
// NODE_PATH must find the ws package (npm ws 8); decrypt-samples.sh runs
// node with --tls-keylog=FILE, which writes the TLS secrets of every
// connection of the process (one here) in NSS key log format.
//
//   node decrypt_node.js server PORT CHAIN KEY [options]
//     https server + ws WebSocketServer on 127.0.0.1:PORT, echoing.
//     --close-on N --code C --reason R: the Nth message is not echoed, the
//       server closes with C R instead.
//     --summarize: answers each message with "received N bytes" instead of
//       echoing it (keeps a capture with a large message small).
//     Exits 0.5 s after its one connection has closed (20 s at most).
//   node decrypt_node.js client URL CAFILE SERVERNAME [options]
//     ws client (family 4): sends --messages N (default 3) text messages,
//     one at a time, each after the reply to the one before; then closes
//     with --close C --reason R, or waits for the server to close.
//     --size B: messages of B characters.
//   Both: --tls 1.2|1.3 (minVersion = maxVersion), --ciphers LIST (Node's
//     `ciphers` option: OpenSSL names for TLS 1.2, TLS_ names for TLS 1.3),
//     --deflate (perMessageDeflate: true; false otherwise).
// Every line is `TIME ROLE: text`; the last one about the connection is
// `ROLE: result {json}` (TLS version and suite as the socket reports them,
// and the code and reason of ws's 'close' event), read by decrypt_facts.py.
const fs = require('fs');
const https = require('https');
const { WebSocket, WebSocketServer } = require('ws');

const [role, ...rest] = process.argv.slice(2);
const pos = [];
const opt = {};
for (let i = 0; i < rest.length; i++) {
  if (rest[i].startsWith('--')) {
    const k = rest[i].slice(2);
    if (k === 'deflate' || k === 'summarize') opt[k] = true;
    else opt[k] = rest[++i];
  } else pos.push(rest[i]);
}
const t = () => (Date.now() / 1000).toFixed(6);
const log = (s) => console.log(`${t()} ${role}: ${s}`);
const result = (o) => log(`result ${JSON.stringify(o)}`);
setTimeout(() => { log('timeout'); process.exit(1); }, 20000);
log(`node ${process.version}, OpenSSL ${process.versions.openssl}, ws ${require('ws/package.json').version}`);

const tlsv = { '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' }[opt.tls];
if (!tlsv) throw new Error('--tls 1.2|1.3 is required');
const tlsOpts = { minVersion: tlsv, maxVersion: tlsv };
if (opt.ciphers) tlsOpts.ciphers = opt.ciphers;
const deflate = !!opt.deflate;
const tlsInfo = (s) => ({ tls_version: s.getProtocol(), cipher: s.getCipher().standardName });
const message = (i) => {
  let text = `message ${i} `;
  const size = Number(opt.size || 0);
  if (size) text = text.repeat(Math.ceil(size / text.length) + 1).slice(0, size);
  return text;
};

if (role === 'server') {
  const [port, chain, key] = pos;
  const server = https.createServer({ cert: fs.readFileSync(chain), key: fs.readFileSync(key), ...tlsOpts });
  const wss = new WebSocketServer({ server, perMessageDeflate: deflate });
  server.on('tlsClientError', (e) => log(`tlsClientError: ${e.code}: ${e.message}`));
  const closeOn = Number(opt['close-on'] || 0);
  wss.on('connection', (ws, req) => {
    const s = req.socket;
    const peer = `${s.remoteAddress}:${s.remotePort}`;
    const info = tlsInfo(s);
    log(`${peer} opened ${req.url} over ${JSON.stringify(info)} extensions=${JSON.stringify(ws.extensions)}`);
    let n = 0;
    let closeCalled = null;
    ws.on('message', (data, isBinary) => {
      n += 1;
      log(`${peer} message ${n}: ${data.length} bytes`);
      if (n === closeOn) {
        closeCalled = { code: Number(opt.code), reason: opt.reason || '' };
        log(`${peer} ws.close(${opt.code}, ${JSON.stringify(opt.reason || '')})`);
        ws.close(Number(opt.code), opt.reason || '');
        return;
      }
      if (opt.summarize) ws.send(`received ${data.length} bytes`);
      else ws.send(data, { binary: isBinary });
      log(`${peer} answered ${n}`);
    });
    ws.on('error', (e) => log(`${peer} error: ${e.code}: ${e.message}`));
    ws.on('close', (code, reason) => {
      log(`${peer} closed, code ${code} ${JSON.stringify(reason.toString())}`);
      result({ role: 'server', library: 'ws', peer, messages_received: n, ...info,
               close_event: { code, reason: reason.toString() }, close_called: closeCalled });
      setTimeout(() => process.exit(0), 500);
    });
  });
  server.listen(Number(port), '127.0.0.1', () => log(`listening on 127.0.0.1:${port}`));
} else if (role === 'client') {
  const [url, cafile, servername] = pos;
  const ws = new WebSocket(url, { family: 4, ca: fs.readFileSync(cafile), servername,
                                  perMessageDeflate: deflate, ...tlsOpts });
  let info = null;
  let closeCalled = null;
  let replies = 0;
  const messages = Number(opt.messages || 3);
  ws.on('upgrade', (res) => {
    info = tlsInfo(res.socket);
    log(`upgrade: ${JSON.stringify(info)} authorized=${res.socket.authorized}`);
  });
  ws.on('open', () => {
    log(`open, extensions=${JSON.stringify(ws.extensions)}`);
    ws.send(message(1));
  });
  ws.on('message', (d) => {
    replies += 1;
    log(`reply ${replies}: ${d.length} bytes`);
    if (replies < messages) ws.send(message(replies + 1));
    else if (opt.close) {
      closeCalled = { code: Number(opt.close), reason: opt.reason || '' };
      log(`ws.close(${opt.close}, ${JSON.stringify(opt.reason || '')})`);
      ws.close(Number(opt.close), opt.reason || '');
    } else log('waiting for the server to close');
  });
  ws.on('error', (e) => log(`error: ${e.code}: ${e.message}`));
  ws.on('close', (code, reason) => {
    log(`closed, code ${code} ${JSON.stringify(reason.toString())}`);
    result({ role: 'client', library: 'ws', replies_received: replies, ...(info || {}),
             close_event: { code, reason: reason.toString() }, close_called: closeCalled });
    setTimeout(() => process.exit(0), 300);
  });
} else {
  throw new Error(`unknown role ${role}`);
}

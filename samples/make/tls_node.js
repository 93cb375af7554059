// Node peers for the TLS samples (see tls-samples.sh). NODE_PATH must find
// the ws package (npm ws 8). Errors are printed as `code: message`, verbatim.
//
//   node tls_node.js tls HOST PORT SERVERNAME CAFILE MAXVERSION
//     tls.connect with the defaults (rejectUnauthorized: true) and `ca` the
//     test root; on 'secureConnect' sends one HTTP/1.1 GET.
//   node tls_node.js wss URL CAFILE|-
//     `ws` client (family 4, so `localhost` is 127.0.0.1). CAFILE `-` means
//     no `ca` option: Node's built-in root store, as an application that
//     does not configure TLS gets. Sends "hello" and "world", and closes with
//     1000 "bye" after the second echo.
// (tls-samples.sh runs node with --tls-keylog=FILE for the TLS secrets.)
const fs = require('fs');
const tls = require('tls');
const [mode, ...args] = process.argv.slice(2);
const t = () => (Date.now() / 1000).toFixed(3);
const log = (s) => console.log(`${t()} client: ${s}`);
setTimeout(() => { log('timeout'); process.exit(1); }, 20000);
log(`node ${process.version}, OpenSSL ${process.versions.openssl}`);

if (mode === 'tls') {
  const [host, port, servername, cafile, maxVersion] = args;
  const s = tls.connect({ host, port: Number(port), servername, ca: fs.readFileSync(cafile), maxVersion });
  s.on('secureConnect', () => {
    log(`secureConnect: ${s.getProtocol()} ${s.getCipher().standardName} authorized=${s.authorized}`);
    s.write(`GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
  });
  s.on('data', (d) => log(`data: ${JSON.stringify(d.toString().split('\r\n')[0])}, ${d.length} bytes`));
  s.on('error', (e) => log(`error: ${e.code}: ${e.message}`));
  s.on('close', (hadError) => { log(`close (hadError=${hadError})`); setTimeout(() => process.exit(0), 300); });
} else if (mode === 'wss') {
  const { WebSocket } = require('ws');
  const [url, cafile] = args;
  const opts = { family: 4, perMessageDeflate: false };
  if (cafile !== '-') opts.ca = fs.readFileSync(cafile);
  const ws = new WebSocket(url, opts);
  ws.on('upgrade', (res) => {
    const s = res.socket;
    log(`open: ${s.getProtocol()} ${s.getCipher().standardName} authorized=${s.authorized}`);
  });
  let echoes = 0;
  ws.on('open', () => ws.send('hello'));
  ws.on('message', (d) => {
    log(`echo ${JSON.stringify(d.toString())}`);
    echoes += 1;
    if (echoes === 1) ws.send('world');
    else ws.close(1000, 'bye');
  });
  ws.on('error', (e) => log(`error: ${e.code}: ${e.message}`));
  ws.on('close', (code, reason) => {
    log(`closed, code ${code} ${JSON.stringify(reason.toString())}`);
    setTimeout(() => process.exit(0), 300);
  });
}

// Node client for the happy-eyeballs sample (see retry-samples.sh). NODE_PATH
// must find the ws package (npm ws 8).
//
//   node retry_node.js URL
//     `ws` client with Node's defaults: no `family`, so the http module's
//     net.connect resolves the name with dns.lookup({all: true}) and, since
//     Node 20 (net.getDefaultAutoSelectFamily() is true), tries the
//     addresses with its happy-eyeballs algorithm (autoSelectFamily,
//     attempt timeout 250 ms). Sends "hello", closes with 1000 "bye" after
//     the echo. Logs the addresses the socket tried
//     (socket.autoSelectFamilyAttemptedAddresses). Run with NODE_DEBUG=net
//     for Node's own account of each attempt (on stderr).
const { WebSocket } = require('ws');
const net = require('net');
const dns = require('dns');
const [url] = process.argv.slice(2);
const t = () => (Date.now() / 1000).toFixed(6);
const log = (s) => console.log(`${t()} client: ${s}`);
setTimeout(() => { log('timeout'); process.exit(1); }, 20000);
log(`node ${process.version}, ws ${require('ws/package.json').version}, `
  + `autoSelectFamily=${net.getDefaultAutoSelectFamily()}, `
  + `attempt timeout ${net.getDefaultAutoSelectFamilyAttemptTimeout()} ms, `
  + `dns result order ${dns.getDefaultResultOrder ? dns.getDefaultResultOrder() : '?'}`);
const host = new URL(url).hostname;
dns.lookup(host, { all: true }, (e, addrs) => {
  log(`dns.lookup(${JSON.stringify(host)}, {all: true}): ${e ? e.message : JSON.stringify(addrs)}`);
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('upgrade', (res) => {
    const s = res.socket;
    log(`upgrade: ${s.localAddress} port ${s.localPort} -> ${s.remoteAddress} port ${s.remotePort}; `
      + `attempted ${JSON.stringify(s.autoSelectFamilyAttemptedAddresses)}`);
  });
  ws.on('open', () => ws.send('hello'));
  ws.on('message', (d) => {
    log(`echo ${JSON.stringify(d.toString())}`);
    ws.close(1000, 'bye');
  });
  ws.on('error', (err) => log(`error: ${err.code}: ${err.message}`));
  ws.on('close', (code, reason) => {
    log(`closed, code ${code} ${JSON.stringify(reason.toString())}`);
    setTimeout(() => process.exit(0), 300);
  });
});

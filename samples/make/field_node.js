// Node `ws` (npm ws 8) client for the field-shaped samples (see
// field-midstream.sh, field-snap.sh, field-ring.sh). NODE_PATH must find ws.
//
//   node field_node.js URL SCENARIO GOFILE|- HOLD_S [INTERVAL_S]
//
// Like field_peers.py's client: until GOFILE exists (`-`: go at once) and
// HOLD_S seconds after, it sends a text message, a binary message and a
// ping every INTERVAL_S (default 0.1) seconds; the server echoes. Then:
//   client-1000  ws.close(1000, "client done")
//   client-4000  ws.close(4000, "app shutdown")
//   anything else: keeps talking until the server ends the session.
// Every line: time, "client", server port, scenario, text.
const fs = require('fs');
const crypto = require('crypto');
const { WebSocket } = require('ws');
const [url, scen, go, holdS, intervalS] = process.argv.slice(2);
const hold = Number(holdS) * 1000;
const interval = Number(intervalS || 0.1) * 1000;
const port = url.split(':')[2].split('/')[0];
const log = (s) => console.log(`${(Date.now() / 1000).toFixed(6)} client ${port} ${scen}: ${s}`);
setTimeout(() => { log('timeout'); process.exit(1); }, 40000);
log(`node ${process.version}, ws ${require('ws/package.json').version}`);

const ws = new WebSocket(url, { perMessageDeflate: false });
let n = 0;
let local = '?';
let timer = null;
let goAt = go === '-' ? Date.now() : null;
let acted = false;
ws.on('upgrade', (res) => {
  local = `${res.socket.localAddress}:${res.socket.localPort}`;
});
ws.on('open', () => {
  log(`${local} connected to ${url}`);
  timer = setInterval(() => {
    if (goAt === null && fs.existsSync(go)) { goAt = Date.now(); log(`go after ${n} rounds`); }
    if (goAt !== null && Date.now() - goAt >= hold && !acted) {
      acted = true;
      if (scen === 'client-1000' || scen === 'client-4000') {
        const [code, reason] = scen === 'client-1000' ? [1000, 'client done'] : [4000, 'app shutdown'];
        log(`${local} ${n} rounds; sending Close ${code} ${JSON.stringify(reason)}`);
        clearInterval(timer);
        ws.close(code, reason);
        return;
      }
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ seq: n, kind: 'text', pad: 'x'.repeat(40) }));
    ws.send(crypto.randomBytes(40));
    ws.ping(Buffer.from(`p${n}`));
    n += 1;
  }, interval);
});
ws.on('error', (e) => log(`error: ${e.code}: ${e.message}`));
ws.on('close', (code, reason) => {
  clearInterval(timer);
  log(`${local} 'close' event: code ${code} reason ${JSON.stringify(reason.toString())} after ${n} rounds`);
  setTimeout(() => process.exit(0), 200);
});

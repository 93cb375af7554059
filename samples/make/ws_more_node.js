// Node `ws` (npm ws 8) peers for the second set of close-code samples (see
// ws-more-codes.sh). NODE_PATH must find the ws package.
//
//   node ws_more_node.js client URL MODE     node ws_more_node.js server PORT MODE
//
// client going-away  sends "hello", and on the echo closes with 1001
//                    "page unloaded", as a client leaving does.
// client empty-close sends "hello", and on the echo calls ws.close() with no
//                    code: ws sends a Close frame with an empty payload.
// client version-8   asks to upgrade with Sec-WebSocket-Version: 8
//                    (ws's protocolVersion option); on a non-101 answer ws
//                    itself aborts the request ("Unexpected server response").
// server text-only   echoes text messages; on a binary message closes with
//                    1003 "binary messages are not supported".
const { WebSocket, WebSocketServer } = require('ws');
const [role, where, mode] = process.argv.slice(2);
setTimeout(() => { console.log(`${role}: timeout`); process.exit(1); }, 20000);

if (role === 'server') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(where), perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (mode === 'text-only' && isBinary) {
        console.log(`server: got ${data.length} binary bytes, closing with 1003`);
        ws.close(1003, 'binary messages are not supported');
      } else {
        ws.send(data, { binary: isBinary });
      }
    });
    ws.on('close', (code, reason) => {
      console.log(`server: closed, peer code ${code} ${JSON.stringify(reason.toString())}`);
      setTimeout(() => process.exit(0), 300);
    });
  });
} else {
  const opts = mode === 'version-8' ? { protocolVersion: 8 } : {};
  const ws = new WebSocket(where, opts);
  ws.on('error', (e) => console.log(`client: error: ${e.message}`));
  ws.on('open', () => ws.send('hello'));
  ws.on('message', () => {
    if (mode === 'going-away') ws.close(1001, 'page unloaded');
    else if (mode === 'empty-close') ws.close();
  });
  ws.on('close', (code, reason) => {
    console.log(`client: closed, code ${code} ${JSON.stringify(reason.toString())}`);
    setTimeout(() => process.exit(0), 300);
  });
}

// Node `ws` server for ws-node.pcap: echoes two messages, then closes the
// connection itself with 1001 "going away", as a server shutting down does.
// usage: node ws_node_server.js PORT   (NODE_PATH must find the ws package)
const { WebSocketServer } = require('ws');
const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  let n = 0;
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
    if (++n === 2) ws.close(1001, 'server shutting down');
  });
  ws.on('close', () => setTimeout(() => process.exit(0), 300));
});
setTimeout(() => process.exit(1), 30000);

// The Node `ws` reference relay for bench_tours.py: the first message says guide or visitor; guide frames go to every
// visitor as they are (no parsing), like the Python relay. Prints its port (listening on 127.0.0.1:0).
import { WebSocketServer } from 'ws';

const visitors = new Set();
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 });

server.on('connection', (socket) => {
  socket.once('message', (first) => {
    const role = JSON.parse(first.toString()).role;
    socket.send('{"type":"welcome"}');
    if (role === 'guide') {
      socket.on('message', (data, isBinary) => {
        for (const visitor of visitors) visitor.send(data, { binary: isBinary });
      });
    } else {
      visitors.add(socket);
      socket.on('close', () => visitors.delete(socket));
    }
  });
});

server.on('listening', () => console.log(server.address().port));

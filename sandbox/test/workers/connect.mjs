// Tries a TCP connect to 127.0.0.1:<input.port>; reports whether it succeeded.
import { connect } from 'node:net';
let data = '';
for await (const chunk of process.stdin) data += chunk;
const { port } = JSON.parse(data);
const result = await new Promise((resolve) => {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setTimeout(2000, () => {
    socket.destroy();
    resolve({ connected: false, error: 'timeout' });
  });
  socket.once('connect', () => {
    socket.destroy();
    resolve({ connected: true });
  });
  socket.once('error', (err) => resolve({ connected: false, error: err.code ?? 'error' }));
});
process.stdout.write(JSON.stringify(result));

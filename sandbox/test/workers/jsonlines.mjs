// A long-lived server speaking newline-delimited JSON on stdio, as an MCP stdio server does: each
// request line `{ id, op, ...args }` gets one answer line `{ id, ...result }`.
import { spawn } from 'node:child_process';
import { lookup, Resolver } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

function tryConnect(port) {
  return new Promise((resolve) => {
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
}

const ops = {
  echo: ({ value }) => ({ value }),
  facts: () => ({
    uid: process.getuid?.() ?? null,
    cwd: process.cwd(),
    env: Object.keys(process.env).sort(),
    heapFlag: process.execArgv.find((a) => a.startsWith('--max-old-space-size')) ?? null,
  }),
  connect: ({ port }) => tryConnect(port),
  // Through the system resolver, or through the DNS server on loopback port `server`.
  dns: async ({ host, server }) => {
    try {
      if (server === undefined) return { resolved: (await lookup(host)).address };
      const resolver = new Resolver({ timeout: 2000, tries: 1 });
      resolver.setServers([`127.0.0.1:${server}`]);
      return { resolved: (await resolver.resolve4(host))[0] };
    } catch (err) {
      return { resolved: null, error: err.code ?? 'error' };
    }
  },
  write: ({ path }) => {
    try {
      writeFileSync(path, 'written by the sandboxed server');
      return { written: true };
    } catch (err) {
      return { written: false, error: err.code ?? 'error' };
    }
  },
  // A child carrying the marker in its argv; `escape` puts it in its own session.
  spawn: ({ marker, escape }) => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], {
      detached: Boolean(escape),
      stdio: 'ignore',
    });
    child.unref();
    return { pid: child.pid };
  },
  exit: ({ code }) => process.exit(code),
  // Keeps running after its input ends (most servers end with it): only a kill can end it.
  linger: () => {
    setInterval(() => undefined, 1 << 30);
    return { lingering: true };
  },
};

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const { id, op, ...args } = JSON.parse(line);
  const result = await ops[op](args);
  process.stdout.write(`${JSON.stringify({ id, ...result })}\n`);
}

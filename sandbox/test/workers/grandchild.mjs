// Starts a grandchild carrying a marker in its argv (optionally in its own session, escaping
// the process group), then hangs or exits.
import { spawn } from 'node:child_process';
let data = '';
for await (const chunk of process.stdin) data += chunk;
const { marker, escape, thenExit } = JSON.parse(data);
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], {
  detached: Boolean(escape),
  stdio: 'ignore',
});
child.unref();
await new Promise((r) => setTimeout(r, 300));
if (thenExit) {
  process.stdout.write(JSON.stringify({ started: true }));
} else {
  setInterval(() => undefined, 1000);
}

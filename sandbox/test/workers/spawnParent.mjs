// A caller of spawnSandboxed (the compiled package) that the test kills outright: what it started
// must die with it. Starts the JSON-lines server, which lingers after its stdin closes (so the
// caller's death alone does not end it), has it start a marked child in its own session, and
// prints the server's cwd and process group once that child exists.
import { fileURLToPath } from 'node:url';
import { spawnSandboxed } from '../../dist/index.js';

const marker = process.env.SPAWN_MARKER;
const server = fileURLToPath(new URL('./jsonlines.mjs', import.meta.url));
const proc = await spawnSandboxed({ command: ['node', server] });
let buffered = '';
proc.stdout.setEncoding('utf8');
proc.stdout.on('data', (chunk) => {
  buffered += chunk;
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) {
    const answer = JSON.parse(line);
    if (answer.id === 2)
      process.stdout.write(`${JSON.stringify({ cwd: answer.cwd, leader: proc.pid })}\n`);
  }
});
proc.stdin.write(`${JSON.stringify({ id: 0, op: 'linger' })}\n`);
proc.stdin.write(`${JSON.stringify({ id: 1, op: 'spawn', marker, escape: true })}\n`);
proc.stdin.write(`${JSON.stringify({ id: 2, op: 'facts' })}\n`);
setInterval(() => undefined, 1000);

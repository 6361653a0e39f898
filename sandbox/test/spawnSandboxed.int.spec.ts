import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { chmod, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { StageIsolation, schemaProblems } from '@secai/contracts';
import { sandboxCapabilities, spawnSandboxed, type SandboxedProcess } from '../src/index.js';
import { expectNoneLeft, pidsWithMarker } from './processes.js';
import { makePrivateDir, writeWorkspace } from './workspaceTree.js';

const worker = (name: string): string =>
  fileURLToPath(new URL(`./workers/${name}.mjs`, import.meta.url));
const caps = sandboxCapabilities();
const isolatable = caps.root && caps.unshare !== null;
const skipReason = caps.root ? 'util-linux unshare not found' : 'not running as root';

type Answer = Record<string, unknown>;

/** Newline-delimited JSON requests to the `jsonlines` server, answers matched by id. */
class LineClient {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (a: Answer) => void; reject: (e: Error) => void }
  >();

  constructor(private readonly proc: SandboxedProcess) {
    const lines = createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      const answer = JSON.parse(line) as Answer;
      this.pending.get(answer.id as number)?.resolve(answer);
      this.pending.delete(answer.id as number);
    });
    lines.on('close', () => {
      const why = new Error(`server stdout closed: ${proc.stderrTail()}`);
      for (const { reject } of this.pending.values()) reject(why);
      this.pending.clear();
    });
  }

  request(op: string, args: Record<string, unknown> = {}): Promise<Answer> {
    const id = this.nextId++;
    const answer = new Promise<Answer>((resolve, reject) =>
      this.pending.set(id, { resolve, reject }),
    );
    this.proc.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    return answer;
  }
}

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** Live (not zombie) host pids in the pid namespace `link` (`pid:[inode]`). */
async function pidsInNamespace(link: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if ((await readlink(`/proc/${entry}/ns/pid`)) === link) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

/** A DNS server on a loopback UDP port that answers every A query with 192.0.2.1. */
async function startDnsServer(): Promise<{ socket: UdpSocket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    let end = 12; // header, then the question's name as labels ending in a zero byte
    while (end < query.length && query[end] !== 0) end += (query[end] ?? 0) + 1;
    const question = query.subarray(12, end + 5); // the name, its zero byte, type and class
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180, 2); // a response, recursion desired and available, no error
    header.writeUInt16BE(1, 4); // one question
    header.writeUInt16BE(1, 6); // one answer
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    socket.send(Buffer.concat([header, question, answer]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port };
}

describe('spawnSandboxed: a JSON-lines server over stdio', () => {
  let proc: SandboxedProcess;
  let client: LineClient;
  let tcp: Server;
  let tcpPort = 0;
  let dns: { socket: UdpSocket; port: number };

  beforeAll(async () => {
    tcp = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const address = tcp.address();
    tcpPort = typeof address === 'object' && address !== null ? address.port : 0;
    dns = await startDnsServer();
    process.env.SECAI_TEST_SECRET = 'hunter2';
    try {
      proc = await spawnSandboxed({
        command: ['node', worker('jsonlines')],
        env: { MCP_MODE: 'test' },
      });
    } finally {
      delete process.env.SECAI_TEST_SECRET;
    }
    client = new LineClient(proc);
  });
  afterAll(async () => {
    await proc?.kill();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    dns.socket.close();
  });

  it('round-trips several messages, in order, a long one among them', async () => {
    const values = ['wörld', { nested: [1, 2, { deep: true }] }, 'x'.repeat(200_000), null, 42];
    const answers = await Promise.all(values.map((value) => client.request('echo', { value })));
    expect(answers.map((a) => a.value)).toEqual(values);
    expect(answers.map((a) => a.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('reports valid isolation facts while it runs', () => {
    expect(schemaProblems(StageIsolation, proc.isolation)).toEqual([]);
    expect(proc.isolation).toMatchObject({
      sandbox: isolatable ? 'namespaces' : 'process',
      network: isolatable ? 'none' : 'host',
      credentialless: true,
      timeoutMs: 0,
      outputLimitBytes: 0,
      exitCode: null,
      signal: null,
    });
    expect(proc.pid).toBeGreaterThan(1);
    if (!isolatable) expect(proc.notes.join(' ')).toMatch(/not network-isolated/);
  });

  it('runs as nobody in a fresh cwd, with only PATH and the given variables', async () => {
    const facts = await client.request('facts');
    if (isolatable && caps.setpriv !== null) expect(facts.uid).toBe(65534);
    expect(facts.cwd).toMatch(/secai-sandbox-/);
    expect(facts.env).toEqual(['MCP_MODE', 'PATH']);
    expect(facts.heapFlag).toBe('--max-old-space-size=512');
  });

  it('reaches the host loopback server and DNS server from outside (the checks can fail)', async () => {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: tcpPort });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    expect(connected).toBe(true);
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${dns.port}`]);
    expect(await resolver.resolve4('mcp.example')).toEqual(['192.0.2.1']);
  });

  it('has no network inside: the same connect and DNS query fail', async (ctx) => {
    if (!isolatable) ctx.skip(`not network-isolated: ${skipReason}`);
    expect(await client.request('connect', { port: tcpPort })).toMatchObject({ connected: false });
    const viaServer = await client.request('dns', { host: 'mcp.example', server: dns.port });
    expect(viaServer.resolved).toBeNull();
    const viaSystem = await client.request('dns', { host: 'example.com' });
    expect(viaSystem.resolved).toBeNull();
  });

  it('writes its cwd and nowhere else, not even world-writable /tmp and /dev/shm', async (ctx) => {
    if (!isolatable) ctx.skip(`no mount namespace: ${skipReason}`);
    const { cwd } = (await client.request('facts')) as { cwd: string };
    const name = `secai-spawn-${process.pid}-${Date.now()}`;
    expect(await client.request('write', { path: join(cwd, 'mine') })).toMatchObject({
      written: true,
    });
    for (const dir of [tmpdir(), '/dev/shm']) {
      const path = join(dir, name);
      expect(await client.request('write', { path })).toMatchObject({
        written: false,
        error: 'EROFS',
      });
      await expect(stat(path)).rejects.toThrow();
    }
  });
});

describe('spawnSandboxed: lifetime', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const dir of made) await rm(dir, { recursive: true, force: true });
  });

  it('kill() leaves nothing behind: no process, no pid namespace member, no cwd', async () => {
    const marker = `secai-marker-${process.pid}-${Date.now()}-spawn-kill`;
    const proc = await spawnSandboxed({ command: ['node', worker('jsonlines')] });
    const client = new LineClient(proc);
    const { cwd } = (await client.request('facts')) as { cwd: string };
    // A child in the server's process group and one in a session of its own: node's spawn
    // returns once they have exec'd, so both carry the marker now.
    await client.request('spawn', { marker, escape: false });
    await client.request('spawn', { marker, escape: true });
    const children = await pidsWithMarker(marker);
    expect(children).toHaveLength(2);
    let namespace: string | null = null;
    if (isolatable) {
      namespace = await readlink(`/proc/${children[0]}/ns/pid`);
      expect(namespace).not.toBe(await readlink('/proc/self/ns/pid'));
      expect(await pidsInNamespace(namespace)).toHaveLength(4); // sh, the server, two children
    }

    await proc.kill();
    // Gone when kill() resolves, without waiting further.
    expect(await pidsWithMarker(marker)).toEqual([]);
    if (namespace !== null) expect(await pidsInNamespace(namespace)).toEqual([]);
    await expect(stat(cwd)).rejects.toThrow();
    expect(await proc.exited).toEqual({
      code: null,
      signal: 'SIGKILL',
      failure: 'killed',
      detail: 'killed by kill()',
    });
    expect(proc.isolation).toMatchObject({ signal: 'SIGKILL', reapedDescendants: 2 });
    await proc.kill(); // idempotent
  });

  it('a server that ends by itself resolves `exited` and removes its cwd', async () => {
    const clean = await spawnSandboxed({ command: ['node', worker('jsonlines')] });
    const { cwd } = (await new LineClient(clean).request('facts')) as { cwd: string };
    clean.stdin.end(); // an MCP stdio server ends when its input does
    expect(await clean.exited).toEqual({ code: 0, signal: null });
    expect(clean.isolation.exitCode).toBe(0);
    await expect(stat(cwd)).rejects.toThrow();

    const failing = await spawnSandboxed({ command: ['node', worker('jsonlines')] });
    failing.stdin.write(`${JSON.stringify({ id: 1, op: 'exit', code: 3 })}\n`);
    expect(await failing.exited).toMatchObject({
      code: 3,
      signal: null,
      failure: 'nonzero_exit',
    });
  });

  it('dies with a caller that is killed outright', async (ctx) => {
    if (caps.setpriv === null) ctx.skip('setpriv not found: no parent-death signal');
    const marker = `secai-marker-${process.pid}-${Date.now()}-spawn-orphan`;
    // The caller's sandbox directories go here: killed outright, it cannot remove them.
    const scratch = await mkdtemp(join(tmpdir(), 'secai-caller-'));
    made.push(scratch);
    await chmod(scratch, 0o755);
    // The marker goes by environment: only the server's child may carry it in its argv.
    const caller = spawn(process.execPath, [worker('spawnParent')], {
      env: { PATH: process.env.PATH ?? '', TMPDIR: scratch, SPAWN_MARKER: marker },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let leader = 0;
    try {
      let callerStderr = '';
      caller.stderr.on('data', (chunk: Buffer) => (callerStderr += chunk.toString()));
      // spawnParent prints once the server's child (in a session of its own) exists.
      const ready = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: caller.stdout });
        lines.once('line', resolve);
        lines.once('close', () => reject(new Error(`spawnParent ended: ${callerStderr}`)));
      });
      const facts = JSON.parse(ready) as { cwd: string; leader: number };
      leader = facts.leader;
      expect(facts.cwd).toContain(scratch);
      expect(await pidsWithMarker(marker)).toHaveLength(1);

      caller.kill('SIGKILL');
      // Nothing to await here: the kernel's parent-death signal does the killing (the server
      // lingers after its stdin closes, so the closed pipe alone would not end it).
      await expectNoneLeft(marker);
    } finally {
      caller.kill('SIGKILL');
      // Had the signal failed, the lingering sandbox would outlive the test: end it here.
      if (leader > 0) {
        try {
          process.kill(-leader, 'SIGKILL');
        } catch {
          // gone, as it should be
        }
      }
    }
  });

  it('runs a server whose code lives under a 0700 directory', async (ctx) => {
    if (!isolatable) ctx.skip(`no mount namespace: ${skipReason}`);
    const parent = await makePrivateDir('mktemp', made);
    const script = await writeWorkspace(join(parent, 'clone'));
    const proc = await spawnSandboxed({ command: ['node', script], codeMount: script });
    proc.stdin.end(JSON.stringify({ probe: script }));
    const [out, exit] = await Promise.all([readAll(proc.stdout), proc.exited]);
    expect(exit.failure === undefined ? 'ok' : `${exit.failure}: ${proc.stderrTail()}`).toBe('ok');
    // Its imports resolved through the workspace link; the original path stays out of reach.
    expect(JSON.parse(out)).toMatchObject({ answer: 'dep+plain', probed: 'EACCES' });
    if (caps.setpriv !== null) expect(JSON.parse(out)).toMatchObject({ uid: 65534 });
    expect((await stat(parent)).mode & 0o777).toBe(0o700);
  });

  it('refuses what it cannot start with `spawn_failed`, before starting anything', async () => {
    const script = worker('jsonlines');
    const refused = { name: 'SandboxSpawnError', code: 'spawn_failed' };
    await expect(spawnSandboxed({ command: [] })).rejects.toMatchObject(refused);
    await expect(spawnSandboxed({ command: ['/nonexistent/server'] })).rejects.toMatchObject(
      refused,
    );
    await expect(spawnSandboxed({ command: ['no-such-command-here'] })).rejects.toMatchObject(
      refused,
    );
    await expect(
      spawnSandboxed({ command: ['node', script], env: { 'NOT A NAME': 'x' } }),
    ).rejects.toMatchObject(refused);
    await expect(
      spawnSandboxed({ command: ['node', script], codeMount: 'relative.mjs' }),
    ).rejects.toMatchObject(refused);
    await expect(
      spawnSandboxed({ command: ['node', script], readOnlyPaths: ['/nonexistent/model'] }),
    ).rejects.toMatchObject(refused);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { mkdtemp, readFile, readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StageIsolation, schemaProblems } from '@secai/contracts';
import { runSandboxed, sandboxCapabilities, type SandboxOutcome } from '../src/index.js';
import { expectNoneLeft } from './processes.js';

const worker = (name: string): string =>
  fileURLToPath(new URL(`./workers/${name}.mjs`, import.meta.url));
const caps = sandboxCapabilities();
const isolatable = caps.root && caps.unshare !== null;
const skipReason = caps.root ? 'util-linux unshare not found' : 'not running as root';

function expectValidIsolation(outcome: SandboxOutcome): void {
  expect(schemaProblems(StageIsolation, outcome.isolation)).toEqual([]);
  expect(outcome.isolation.credentialless).toBe(true);
  expect(outcome.isolation.network).toBe(isolatable ? 'none' : 'host');
  expect(outcome.isolation.sandbox).toBe(isolatable ? 'namespaces' : 'process');
}

function failureOf(outcome: SandboxOutcome): string {
  return outcome.ok ? 'ok' : outcome.failure;
}

/**
 * The time a `grandchild` worker gets before its timeout. The sandbox's own processes and two
 * node processes must start before the grandchild exists; the counts below hold only if it did,
 * so this is far above what an idle machine needs (the test waits it out either way).
 */
const GRANDCHILD_TIMEOUT_MS = 10_000;

describe('runSandboxed: success path and scrubbing', () => {
  it('echoes JSON input and reports valid isolation facts', async () => {
    const outcome = await runSandboxed({ script: worker('echo'), input: { hello: 'wörld', n: 3 } });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const result = outcome.result as { input: unknown; uid: number; cwd: string; env: string[] };
    expect(result.input).toEqual({ hello: 'wörld', n: 3 });
    expect(result.cwd).toMatch(/secai-sandbox-/);
    expect(result.env).toEqual(['NODE_OPTIONS', 'PATH']);
    if (isolatable && caps.setpriv !== null) expect(result.uid).toBe(65534);
    expectValidIsolation(outcome);
    expect(outcome.isolation).toMatchObject({
      exitCode: 0,
      signal: null,
      reapedDescendants: 0,
      timeoutMs: 120_000,
      outputLimitBytes: 1024 * 1024,
      readOnlyArtifact: true,
    });
    if (!isolatable) expect(outcome.notes.join(' ')).toMatch(/not network-isolated/);
  });

  it('removes its temporary work directory afterwards', async () => {
    const outcome = await runSandboxed({ script: worker('echo'), input: null });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const { cwd } = outcome.result as { cwd: string };
    // The cwd seen inside is the host path (mount namespace shares the file system).
    await expect(readdir(cwd)).rejects.toThrow();
  });

  it('passes no SECAI_* variables or credentials to the worker', async () => {
    process.env.SECAI_TEST_SECRET = 'hunter2';
    process.env.AWS_SECRET_ACCESS_KEY = 'nope';
    try {
      const outcome = await runSandboxed({ script: worker('secrets'), input: null });
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      const { env } = outcome.result as { env: Record<string, string> };
      expect(Object.keys(env).sort()).toEqual(['NODE_OPTIONS', 'PATH']);
      expect(env.NODE_OPTIONS).toBe('--max-old-space-size=2048');
      expect(JSON.stringify(env)).not.toContain('hunter2');
    } finally {
      delete process.env.SECAI_TEST_SECRET;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });
});

describe('runSandboxed: every failure is an ordinary outcome', () => {
  it('a thrown exception is `crashed`', async () => {
    const outcome = await runSandboxed({ script: worker('crash'), input: null });
    expect(failureOf(outcome)).toBe('crashed');
    expect(outcome.isolation.exitCode).toBe(1);
    expect(outcome.stderrTail).toContain('hostile parser blew up');
    expectValidIsolation(outcome);
  });

  it('a deliberate non-zero exit is `nonzero_exit`', async () => {
    const outcome = await runSandboxed({ script: worker('exit3'), input: null });
    expect(failureOf(outcome)).toBe('nonzero_exit');
    expect(outcome.isolation.exitCode).toBe(3);
    expectValidIsolation(outcome);
  });

  it('a hang is `timeout` after the configured time', async () => {
    const outcome = await runSandboxed(
      { script: worker('sleep'), input: null },
      { timeoutMs: 1000 },
    );
    expect(failureOf(outcome)).toBe('timeout');
    expect(outcome.isolation.timeoutMs).toBe(1000);
    expect(outcome.isolation.signal).toBe('SIGKILL');
    expectValidIsolation(outcome);
  });

  it('a busy loop past RLIMIT_CPU is `cpu_limit`', async (ctx) => {
    if (caps.prlimit === null) ctx.skip('prlimit (util-linux) not found: no RLIMIT_CPU');
    const outcome = await runSandboxed(
      { script: worker('hang'), input: null },
      // The wall-clock bound only has to lose the race to 1 s of CPU: far above it, so a loaded
      // machine (a fraction of a core for the worker) still ends with SIGXCPU.
      { cpuSeconds: 1, timeoutMs: 50_000 },
    );
    expect(failureOf(outcome)).toBe('cpu_limit');
    expect(outcome.isolation.signal).toBe('SIGXCPU');
    expectValidIsolation(outcome);
  });

  it('allocating past the heap limit is `oom`', async () => {
    const outcome = await runSandboxed(
      { script: worker('oom'), input: null },
      { memoryMiB: 64, timeoutMs: 50_000 }, // the heap limit, not the clock, must end it
    );
    expect(failureOf(outcome)).toBe('oom');
    expectValidIsolation(outcome);
  });

  it('flooding stdout is `output_too_large`', async () => {
    const outcome = await runSandboxed(
      { script: worker('huge'), input: null },
      { outputLimitBytes: 256 * 1024 },
    );
    expect(failureOf(outcome)).toBe('output_too_large');
    expect(outcome.isolation.outputLimitBytes).toBe(256 * 1024);
    expectValidIsolation(outcome);
  });

  it('non-JSON stdout is `bad_output`', async () => {
    const outcome = await runSandboxed({ script: worker('nonjson'), input: null });
    expect(failureOf(outcome)).toBe('bad_output');
    expect(outcome.isolation.exitCode).toBe(0);
    expectValidIsolation(outcome);
  });

  it('a missing script or relative path is `spawn_failed`', async () => {
    expect(failureOf(await runSandboxed({ script: '/nonexistent/x.mjs', input: null }))).toBe(
      'spawn_failed',
    );
    const outcome = await runSandboxed({ script: 'relative.mjs', input: null });
    expect(failureOf(outcome)).toBe('spawn_failed');
    expectValidIsolation(outcome);
  });

  it('a normal script still runs under the RLIMIT_AS default and a tighter 4 GiB one', async () => {
    const outcome = await runSandboxed(
      { script: worker('echo'), input: 1 },
      { addressSpaceMiB: 4096 },
    );
    expect(outcome.ok).toBe(true);
  });
});

describe('runSandboxed: process tree', () => {
  // Exactly the grandchild is counted: never the sandbox's own unshare, sh or worker, even when
  // they are still dying after the leader was reaped (a loaded machine once counted 2 and 3).
  it('kills a grandchild in the process group on timeout and counts it', async () => {
    const marker = `secai-marker-${process.pid}-${Date.now()}-a`;
    const outcome = await runSandboxed(
      { script: worker('grandchild'), input: { marker, escape: false, thenExit: false } },
      { timeoutMs: GRANDCHILD_TIMEOUT_MS },
    );
    expect(failureOf(outcome)).toBe('timeout');
    expect(outcome.isolation.reapedDescendants).toBe(1);
    await expectNoneLeft(marker);
    expectValidIsolation(outcome);
  });

  it('kills a grandchild left behind by a worker that exits normally', async () => {
    const marker = `secai-marker-${process.pid}-${Date.now()}-b`;
    const outcome = await runSandboxed({
      script: worker('grandchild'),
      input: { marker, escape: false, thenExit: true },
    });
    expect(outcome.ok).toBe(true);
    // With a pid namespace the kernel kills the grandchild when the pid-1 shell exits, before
    // unshare can exit, so nothing is left for the sandbox to reap; without one the sandbox
    // finds it in the worker's process group and kills it.
    expect(outcome.isolation.reapedDescendants).toBe(isolatable ? 0 : 1);
    await expectNoneLeft(marker);
  });

  it('kills a grandchild that escaped into its own session (pid namespace)', async (ctx) => {
    if (!isolatable) ctx.skip(`no pid namespace: ${skipReason}`);
    const marker = `secai-marker-${process.pid}-${Date.now()}-c`;
    const outcome = await runSandboxed(
      { script: worker('grandchild'), input: { marker, escape: true, thenExit: false } },
      { timeoutMs: GRANDCHILD_TIMEOUT_MS },
    );
    expect(failureOf(outcome)).toBe('timeout');
    // Out of the process group but still the worker's child: found by parentage and counted,
    // which also shows the grandchild existed before the kill.
    expect(outcome.isolation.reapedDescendants).toBe(1);
    await expectNoneLeft(marker);
  });
});

describe('runSandboxed: network and file-system isolation', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a connect to a host loopback server succeeds outside the sandbox', async () => {
    const { spawnSync } = await import('node:child_process');
    const outside = spawnSync(process.execPath, [worker('connect')], {
      input: JSON.stringify({ port }),
      encoding: 'utf8',
    });
    expect(JSON.parse(outside.stdout)).toEqual({ connected: true });
  });

  it('the same connect fails inside (fresh network namespace)', async (ctx) => {
    if (!isolatable) ctx.skip(`not network-isolated: ${skipReason}`);
    const outcome = await runSandboxed({ script: worker('connect'), input: { port } });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect((outcome.result as { connected: boolean }).connected).toBe(false);
    expect(outcome.isolation.network).toBe('none');
  });

  it('shows a read-only path to a nobody worker even under a 0700 parent (the state dir)', async (ctx) => {
    if (!isolatable) ctx.skip(`no mount namespace: ${skipReason}`);
    const dir = await mkdtemp(join(tmpdir(), 'secai-private-'));
    await chmod(dir, 0o700);
    const artifact = join(dir, 'model.gguf');
    await writeFile(artifact, 'original');
    await chmod(artifact, 0o444);
    try {
      const outcome = await runSandboxed({
        script: worker('readartifact'),
        input: (visible: (p: string) => string) => ({ path: visible(artifact) }),
        readOnlyPaths: [artifact],
      });
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      expect(outcome.result).toEqual({ text: 'original' });
      // The original path itself stays out of reach for nobody.
      const direct = await runSandboxed({
        script: worker('readartifact'),
        input: { path: artifact },
        readOnlyPaths: [artifact],
      });
      expect(direct.ok && direct.result).toEqual({ error: 'EACCES' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('readOnlyPaths are bind-mounted read-only, even for a root worker', async (ctx) => {
    if (!isolatable) ctx.skip(`no mount namespace: ${skipReason}`);
    const dir = await mkdtemp(join(tmpdir(), 'secai-ro-'));
    const artifact = join(dir, 'model.gguf');
    await writeFile(artifact, 'original');
    await chmod(artifact, 0o666);
    try {
      const outcome = await runSandboxed(
        { script: worker('writeartifact'), input: { path: artifact }, readOnlyPaths: [dir] },
        { runAsUid: null },
      );
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      expect(outcome.result).toEqual({ written: false, error: 'EROFS' });
      expect(outcome.isolation.readOnlyArtifact).toBe(true);
      expect(await readFile(artifact, 'utf8')).toBe('original');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireBootLock,
  decideRestart,
  resolveStateDir,
  startOrder,
  Supervisor,
  type ServiceDefinition,
} from '../src/index.js';

const policy = { maxRestarts: 3, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 1000 };

describe('restart policy', () => {
  it('restarts with exponential backoff while under the limit', () => {
    expect(decideRestart([], 0, policy)).toEqual({
      action: 'restart',
      delayMs: 100,
      restartsInWindow: 1,
    });
    expect(decideRestart([0, 10], 20, policy)).toEqual({
      action: 'restart',
      delayMs: 400,
      restartsInWindow: 3,
    });
  });

  it('gives up at the limit within the window', () => {
    expect(decideRestart([0, 10, 20], 30, policy)).toEqual({
      action: 'give-up',
      restartsInWindow: 3,
    });
  });

  it('forgets restarts older than the window', () => {
    expect(decideRestart([0, 10, 20], 60_021, policy)).toEqual({
      action: 'restart',
      delayMs: 100,
      restartsInWindow: 1,
    });
  });

  it('caps the backoff delay', () => {
    expect(decideRestart([0, 1, 2, 3, 4, 5], 6, { ...policy, maxRestarts: 100 })).toEqual({
      action: 'restart',
      delayMs: 1000,
      restartsInWindow: 7,
    });
  });
});

describe('start order', () => {
  const def = (name: string, dependsOn: string[] = []): ServiceDefinition =>
    ({ name, entry: 'x', dependsOn, port: undefined }) as unknown as ServiceDefinition;

  it('starts dependencies first, otherwise keeps the declared order', () => {
    const order = startOrder([
      def('registry', ['policy-engine']),
      def('runtime-attestor'),
      def('policy-engine', ['runtime-attestor']),
    ]);
    expect(order.map((d) => d.name)).toEqual(['runtime-attestor', 'policy-engine', 'registry']);
  });

  it('refuses a dependency cycle with a coded error', () => {
    expect(() => startOrder([def('a', ['b']), def('b', ['a'])])).toThrow(
      expect.objectContaining({ code: 'DEPENDENCY_CYCLE' }),
    );
  });
});

describe('state dir and boot lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secai-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves --state-dir, then $SECAI_STATE_DIR', () => {
    expect(resolveStateDir('/x/y', {})).toBe('/x/y');
    expect(resolveStateDir(undefined, { SECAI_STATE_DIR: '/z' })).toBe('/z');
  });

  it('refuses a second holder while the first is alive, and takes over a stale lock', async () => {
    const release = await acquireBootLock(dir);
    await expect(acquireBootLock(dir)).rejects.toMatchObject({ code: 'ALREADY_RUNNING' });
    await release();
    await writeFile(join(dir, 'run', 'boot.lock'), '999999999\n');
    const again = await acquireBootLock(dir);
    expect((await readFile(join(dir, 'run', 'boot.lock'), 'utf8')).trim()).toBe(
      String(process.pid),
    );
    await again();
  });
});

describe('supervisor', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secai-sup-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('restarts a crashing service under the bounded policy, then gives up and says so', async () => {
    const entry = join(dir, 'crash.mjs');
    await writeFile(
      entry,
      'console.error("boom " + process.env.SECAI_SERVICE); process.exit(3);\n',
    );
    const gaveUp: { name: string; restarts: number; code: number | null }[] = [];
    const supervisor = new Supervisor(
      dir,
      {
        onGaveUp: (name, restarts, lastExit) =>
          gaveUp.push({ name, restarts, code: lastExit?.code ?? null }),
      },
      { ...policy, baseDelayMs: 10 },
    );
    await supervisor.start({
      name: 'crashy',
      entry,
      env: { SECAI_SERVICE: 'crashy', PATH: process.env.PATH ?? '' },
      port: undefined,
    });
    const deadline = Date.now() + 10_000;
    while (gaveUp.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(gaveUp).toEqual([{ name: 'crashy', restarts: 3, code: 3 }]);
    expect(supervisor.status()).toEqual([
      expect.objectContaining({ name: 'crashy', state: 'failed', restarts: 3 }),
    ]);
    expect(await readFile(join(dir, 'logs', 'crashy.log'), 'utf8')).toContain('boom crashy');
    await supervisor.stopAll();
  });

  it('stops a running service with SIGTERM', async () => {
    const entry = join(dir, 'idle.mjs');
    await writeFile(
      entry,
      'process.on("SIGTERM", () => { console.log("bye"); process.exit(0); }); setInterval(() => {}, 1000);\n',
    );
    const supervisor = new Supervisor(dir, { onGaveUp: () => {} }, policy);
    await supervisor.start({
      name: 'idle',
      entry,
      env: { PATH: process.env.PATH ?? '' },
      port: undefined,
    });
    await new Promise((r) => setTimeout(r, 300));
    await supervisor.stopAll();
    expect(supervisor.status()).toEqual([
      expect.objectContaining({ name: 'idle', state: 'stopped', restarts: 0 }),
    ]);
    expect(await readFile(join(dir, 'logs', 'idle.log'), 'utf8')).toContain('bye');
  });
});

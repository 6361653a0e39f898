import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireBootLock,
  decideRestart,
  resolveStateDir,
  startOrder,
  type ServiceDefinition,
} from '../src/index.js';

// In process: the restart policy, start order and boot lock. The supervisor itself starts real
// node processes and is tested in supervision.int.spec.ts.

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

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../src/index.js';

// The supervisor with real child processes (node services it starts, restarts and stops), so an
// int test; its pure restart policy is in supervision.unit.spec.ts.

const policy = { maxRestarts: 3, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 1000 };

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
    // Four node starts in a row: bounded far above an idle machine's need, below the test timeout.
    const deadline = Date.now() + 40_000;
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
      'process.on("SIGTERM", () => { console.log("bye"); process.exit(0); }); console.log("ready"); setInterval(() => {}, 1000);\n',
    );
    const supervisor = new Supervisor(dir, { onGaveUp: () => {} }, policy);
    await supervisor.start({
      name: 'idle',
      entry,
      env: { PATH: process.env.PATH ?? '' },
      port: undefined,
    });
    // SIGTERM before the handler is installed would kill the service without its "bye": wait
    // until it says it is ready (a fixed 300 ms was not always enough on a loaded machine).
    const log = join(dir, 'logs', 'idle.log');
    const deadline = Date.now() + 30_000;
    while (!(await readFile(log, 'utf8').catch(() => '')).includes('ready')) {
      if (Date.now() > deadline) throw new Error('the service never became ready');
      await new Promise((r) => setTimeout(r, 20));
    }
    await supervisor.stopAll();
    expect(supervisor.status()).toEqual([
      expect.objectContaining({ name: 'idle', state: 'stopped', restarts: 0 }),
    ]);
    expect(await readFile(join(dir, 'logs', 'idle.log'), 'utf8')).toContain('bye');
  });
});

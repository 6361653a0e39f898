import { afterAll, describe, expect, it } from 'vitest';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runSandboxed, sandboxCapabilities } from '../src/index.js';
import { makePrivateDir, writeWorkspace } from './workspaceTree.js';

// Issue 11 §0: as root with the checkout in /root (0700) or in a `mktemp -d` directory (0700),
// the worker (nobody) could not traverse the parent to reach its own code, so every stage failed
// `worker_crashed`. Its code must reach it the way the artifact does (a read-only bind under a
// root-owned placeholder), never by loosening the parent's permissions.

const caps = sandboxCapabilities();
const isolatable = caps.root && caps.unshare !== null;
const skipReason = caps.root ? 'util-linux unshare not found' : 'not running as root';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

/** A fresh root-owned 0700 directory: in /tmp (what `mktemp -d` makes) or in /root itself. */
const privateDir = (where: 'mktemp' | 'root'): Promise<string> => makePrivateDir(where, made);

describe('runSandboxed: the worker reaches its code under a parent it cannot traverse', () => {
  for (const where of ['mktemp', 'root'] as const) {
    const label =
      where === 'root' ? 'a clone under /root' : 'a clone under a `mktemp -d` directory';
    it(`runs a workspace worker from ${label}`, async (ctx) => {
      if (!isolatable) ctx.skip(`no mount namespace: ${skipReason}`);
      const parent = await privateDir(where);
      const worker = await writeWorkspace(join(parent, 'clone'));
      const outcome = await runSandboxed({ script: worker, input: { probe: worker } });
      expect(outcome.ok ? 'ok' : `${outcome.failure}: ${outcome.stderrTail}`).toBe('ok');
      if (!outcome.ok) return;
      // The worker ran as nobody, its imports resolved through the workspace link, and the
      // original path stays out of its reach: the parent was not loosened.
      expect(outcome.result).toMatchObject({ answer: 'dep+plain', probed: 'EACCES' });
      if (caps.setpriv !== null) expect(outcome.result).toMatchObject({ uid: 65534 });
      expect((await stat(parent)).mode & 0o777).toBe(0o700);
    });
  }

  it('runs a worker whose workspace root is itself the 0700 directory (`git clone . `)', async (ctx) => {
    if (!isolatable) ctx.skip(`no mount namespace: ${skipReason}`);
    const root = await privateDir('mktemp');
    const secret = join(root, 'secret.txt');
    await writeFile(secret, 'not for the worker', { mode: 0o644 });
    const worker = await writeWorkspace(root);
    const outcome = await runSandboxed({
      script: worker,
      // What the worker would find next to the code it was shown: only what it needs is shown.
      input: (visible: (p: string) => string) => ({ probe: visible(secret) }),
    });
    expect(outcome.ok ? 'ok' : `${outcome.failure}: ${outcome.stderrTail}`).toBe('ok');
    if (!outcome.ok) return;
    expect(outcome.result).toMatchObject({ answer: 'dep+plain' });
    expect((outcome.result as { probed: string }).probed).not.toBe('read');
    expect((await stat(root)).mode & 0o777).toBe(0o700);
  });
});

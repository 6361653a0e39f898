import { afterAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSandboxed, sandboxCapabilities } from '../src/index.js';

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
async function privateDir(where: 'mktemp' | 'root'): Promise<string> {
  const dir = await mkdtemp(join(where === 'root' ? '/root' : tmpdir(), 'secai-sandbox-'));
  made.push(dir);
  await chmod(dir, 0o700);
  return dir;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value));
}

/**
 * A small npm-workspaces tree shaped like the repository: a worker in one workspace package
 * imports another through the relative `node_modules/@t/dep` link, which imports a hoisted
 * dependency. Nothing in it is readable by nobody through its parent.
 */
async function writeWorkspace(root: string): Promise<string> {
  await mkdir(join(root, 'node_modules', '@t'), { recursive: true });
  await mkdir(join(root, 'node_modules', 'plain'), { recursive: true });
  await mkdir(join(root, 'pkgs', 'dep'), { recursive: true });
  await mkdir(join(root, 'pkgs', 'app', 'dist'), { recursive: true });
  await writeJson(join(root, 'package.json'), {
    private: true,
    type: 'module',
    workspaces: ['pkgs/*'],
  });
  await writeJson(join(root, 'node_modules', 'plain', 'package.json'), {
    name: 'plain',
    type: 'module',
    exports: './index.js',
  });
  await writeFile(join(root, 'node_modules', 'plain', 'index.js'), "export default 'plain';\n");
  await writeJson(join(root, 'pkgs', 'dep', 'package.json'), {
    name: '@t/dep',
    type: 'module',
    exports: './index.js',
  });
  await writeFile(
    join(root, 'pkgs', 'dep', 'index.js'),
    "import plain from 'plain';\nexport const answer = () => `dep+${plain}`;\n",
  );
  await symlink('../../pkgs/dep', join(root, 'node_modules', '@t', 'dep'));
  await writeJson(join(root, 'pkgs', 'app', 'package.json'), { name: '@t/app', type: 'module' });
  const worker = join(root, 'pkgs', 'app', 'dist', 'worker.js');
  await writeFile(
    worker,
    [
      "import { answer } from '@t/dep';",
      "import { readFileSync } from 'node:fs';",
      "let data = '';",
      'for await (const chunk of process.stdin) data += chunk;',
      'const { probe } = JSON.parse(data);',
      'let probed;',
      "try { readFileSync(probe); probed = 'read'; } catch (e) { probed = e.code; }",
      'process.stdout.write(JSON.stringify({ answer: answer(), uid: process.getuid(), probed }));',
      '',
    ].join('\n'),
  );
  return worker;
}

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

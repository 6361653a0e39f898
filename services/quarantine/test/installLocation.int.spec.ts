import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sandboxCapabilities } from '@secai/sandbox';

// Issue 11 §0: as root with the checkout in /root (0700) or in a `mktemp -d` directory (0700),
// the worker (nobody) could not traverse the parent to reach its own code, so every stage failed
// `worker_crashed`. Its code must reach it the way the artifact does (a read-only bind under a
// root-owned placeholder), never by loosening the parent's permissions.

const run = promisify(execFile);
const caps = sandboxCapabilities();
const isolatable = caps.root && caps.unshare !== null;
const skipReason = caps.root ? 'util-linux unshare not found' : 'not running as root';
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

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

/**
 * A copy of the repository (hard links, so it is quick and costs no space; the built dist/ trees
 * and node_modules included, .git left out) under `parent`.
 */
async function copyRepository(parent: string): Promise<string> {
  const clone = join(parent, 'secai');
  await mkdir(clone, { mode: 0o755 });
  for (const entry of await readdir(REPO)) {
    if (entry === '.git') continue;
    await run('cp', ['-al', join(REPO, entry), clone]).catch(() =>
      run('cp', ['-a', join(REPO, entry), clone]),
    );
  }
  return clone;
}

// What `npm start` + `secai model import` does with a model, stage by stage: the clone's own
// runStage (compiled) runs the clone's workers on a tiny GGUF kept, like the state dir, in the
// private parent. In a separate node process, as the appliance would.
const STAGES_SCRIPT = `
const [quarantine, artifact] = process.argv.slice(1);
const q = await import(quarantine);
const t = await import(quarantine.replace(/index\\.js$/, 'testing/index.js'));
await t.writeTinyLlamaGguf(artifact, { seed: 3 });
const { chmod } = await import('node:fs/promises');
await chmod(artifact, 0o444);
const request = (params) => ({ path: artifact, kind: 'file', params });
const out = {};
out.format_gate = await q.runStage('format_gate', request({}));
out.hash_pin = await q.runStage('hash_pin', request({
  lockText: null, filename: 'tiny.gguf', sha256: '0'.repeat(64), sourceUrl: null }));
out.static_scan = await q.runStage('static_scan', request({ thresholds: {} }));
out.behavioral_test = await q.runStage('behavioral_test', request({
  maxScore: 0.3, maxCritical: 0, threads: 1 }));
process.stdout.write(JSON.stringify(out));
`;

describe('the stages of a repository copy under a private parent', () => {
  for (const where of ['mktemp', 'root'] as const) {
    it(`every sandboxed stage runs from a clone under ${where === 'root' ? '/root' : 'a `mktemp -d` directory'}`, async (ctx) => {
      if (!isolatable) ctx.skip(`no mount namespace: ${skipReason}`);
      const parent = await privateDir(where);
      const clone = await copyRepository(parent);
      const state = join(parent, 'state');
      await mkdir(state, { mode: 0o700 });
      const { stdout } = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          STAGES_SCRIPT,
          join(clone, 'services', 'quarantine', 'dist', 'index.js'),
          join(state, 'tiny.gguf'),
        ],
        { cwd: clone, maxBuffer: 16 * 1024 * 1024 },
      );
      const out = JSON.parse(stdout) as Record<
        string,
        { passed: boolean; reasonCode: string; detail: string; isolation: { sandbox: string } }
      >;
      const summary = Object.fromEntries(
        Object.entries(out).map(([stage, o]) => [stage, o.reasonCode]),
      );
      // No stage may fail for want of its code; each gives its own verdict on the model.
      for (const [stage, reason] of Object.entries(summary)) {
        expect(reason, `${stage}: ${out[stage]?.detail ?? ''}`).not.toMatch(/^worker_/);
      }
      // The tiny model is clean: every stage passes it, as from the original checkout.
      expect(summary).toEqual({
        format_gate: 'gguf_ok',
        hash_pin: 'first_use',
        static_scan: 'static_scan_ok',
        behavioral_test: 'behavior_ok',
      });
      for (const o of Object.values(out)) expect(o.isolation.sandbox).toBe('namespaces');
      expect((await stat(parent)).mode & 0o777).toBe(0o700);
    }, 300_000);
  }
});

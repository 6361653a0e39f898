import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '@secai/quarantine/testing';
import { secai, startBoot, type Booted } from './harness.js';

// The supply chain as an operator drives it: the booted appliance (every service its own
// process), `secai model import` of a tiny GGUF through its six stages and the policy
// decision, then list, show, verify, tampering found by verify, containment and removal.
let stateDir: string;
let work: string;
let booted: Booted;
let digest: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'secai-model-e2e-'));
  work = await mkdtemp(join(tmpdir(), 'secai-model-src-'));
  booted = await startBoot(stateDir);
}, 90_000);

afterAll(async () => {
  if (booted) {
    process.kill(-booted.child.pid!, 'SIGTERM');
    await booted.exit;
  }
  await rm(stateDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

const sd = () => ['--state-dir', stateDir];

describe('secai model', () => {
  it('imports a GGUF: every stage passes, the policy engine promotes it, the registry stores it', async () => {
    const path = join(work, 'tiny.gguf');
    await writeTinyLlamaGguf(path, { seed: 3 });
    const r = await secai(['model', 'import', path, '--name', 'Tiny Llama', ...sd(), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      outcome: string;
      digest: string;
    };
    expect(out.outcome).toBe('promoted');
    digest = out.digest;
  }, 240_000);

  it('lists it once the registry has stored it, and shows its stages and pin', async () => {
    let listed: { name: string; digest: string; status: string }[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const r = await secai(['model', 'list', ...sd(), '--json']);
      expect(r.code).toBe(0);
      listed = JSON.parse(r.stdout) as typeof listed;
      if (listed.length > 0) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(listed).toEqual([
      expect.objectContaining({ name: 'Tiny Llama', digest, status: 'available' }),
    ]);
    const show = await secai(['model', 'show', 'Tiny Llama', ...sd()]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('UNPINNED (local first install)');
    expect(show.stdout).toMatch(/passed\s+behavioral_test/);
    expect(show.stdout).toContain('network none');
  }, 60_000);

  it('verify re-hashes the stored file and exits 0 while it matches', async () => {
    const r = await secai(['model', 'verify', digest.slice(7, 23), ...sd()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('matches its digest');
  }, 60_000);

  it('verify finds a tampered file: exit 1, and the model is no longer available', async () => {
    const hex = digest.slice(7);
    const file = join(stateDir, 'registry', 'store', 'sha256', hex, 'tiny.gguf');
    expect((await stat(file)).mode & 0o777).toBe(0o444);
    await chmod(file, 0o644);
    const bytes = await readFile(file);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(file, bytes);
    const r = await secai(['model', 'verify', hex, ...sd()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VERIFICATION_FAILED');
    expect(r.stderr).toContain('mismatch');
    const list = await secai(['model', 'list', ...sd(), '--json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
  }, 60_000);

  it('contains and then removes the model', async () => {
    const contain = await secai(['model', 'contain', digest, '--reason', 'tampered', ...sd()]);
    expect(contain.code).toBe(0);
    const all = await secai(['model', 'list', '--all', ...sd(), '--json']);
    expect(JSON.parse(all.stdout)).toEqual([
      expect.objectContaining({ digest, status: 'contained' }),
    ]);
    const remove = await secai(['model', 'remove', digest, '--reason', 'done', ...sd()]);
    expect(remove.code).toBe(0);
    const after = await secai(['model', 'list', '--all', ...sd(), '--json']);
    expect(JSON.parse(after.stdout)).toEqual([]);
  }, 60_000);

  it('a model file tampered in the store is found by the integrity monitor and contained by the incident recorder', async () => {
    const path = join(work, 'second.gguf');
    await writeTinyLlamaGguf(path, { seed: 21 });
    const imported = await secai(['model', 'import', path, '--name', 'Second', ...sd(), '--json']);
    expect(imported.code).toBe(0);
    const second = (JSON.parse(imported.stdout.trim().split('\n').at(-1)!) as { digest: string })
      .digest;
    const hex = second.slice(7);
    const file = join(stateDir, 'registry', 'store', 'sha256', hex, 'second.gguf');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !(await stat(file).catch(() => null))) {
      await new Promise((res) => setTimeout(res, 200));
    }
    // Nobody asks for a verification: the monitor sees the change, the recorder contains it.
    await chmod(file, 0o644);
    const bytes = await readFile(file);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(file, bytes);
    let contained: { digest: string; status: string }[] = [];
    const until = Date.now() + 90_000;
    while (Date.now() < until) {
      const all = await secai(['model', 'list', '--all', ...sd(), '--json']);
      contained = (JSON.parse(all.stdout) as { digest: string; status: string }[]).filter(
        (m) => m.digest === second && m.status === 'contained',
      );
      if (contained.length > 0) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    expect(contained).toHaveLength(1);
    const incidents = await secai(['incident', 'list', ...sd(), '--json']);
    expect(incidents.code).toBe(0);
    expect(incidents.stdout).toContain(hex);
  }, 180_000);

  it('names what was wrong with bad input, with a non-zero exit', async () => {
    const missing = await secai(['model', 'import', join(work, 'nope.gguf'), ...sd()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not_found');
    const unknown = await secai(['model', 'show', 'no-such-model', ...sd()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('MODEL_UNKNOWN');
    const text = join(work, 'notes.txt');
    await writeFile(text, 'not a model');
    const rejected = await secai(['model', 'import', text, ...sd()]);
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toMatch(/FAILED\s+format_gate/);
  }, 120_000);
});

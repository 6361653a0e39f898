import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_DIR, POLICY_FILE_NAMES, loadPolicyDir } from '@secai/policy-engine';
import { writeDiffusersDir } from '@secai/formats/testing';
import { writeTinyLlamaGguf } from '@secai/quarantine/testing';
import { loadPolicyBundle, type PolicyBundle } from '../src/service/policyBundle.js';
import { stageRequest, type StageContext } from '../src/service/stages.js';
import { runStage, type SandboxedStage } from '../src/stages/runStage.js';

// Issue 11 §4: the readers' structural bounds are policy (`quarantine.format_gate`). The shipped
// policy.yaml with one line added goes the whole way: the engine's loader validates it, the
// quarantine's bundle reads it, service/stages.ts builds each stage's params, and the compiled
// worker in the sandbox hands the bound to the reader.
let dir: string;
let gguf: string;
let diffusers: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-bounds-'));
  await chmod(dir, 0o755); // the sandboxed worker runs as nobody
  gguf = join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(gguf, { seed: 3 });
  await chmod(gguf, 0o444);
  diffusers = join(dir, 'pipeline');
  await writeDiffusersDir(diffusers, 'valid');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The shipped policy with `lines` added under `quarantine:`, loaded by the engine's loader. */
async function shippedPolicyWith(name: string, lines: string[]) {
  const policyDir = join(dir, name);
  await mkdir(policyDir);
  const shipped = await readFile(join(DEFAULT_POLICY_DIR, POLICY_FILE_NAMES.policy), 'utf8');
  expect(shipped).toMatch(/^quarantine:\n/m);
  await writeFile(
    join(policyDir, POLICY_FILE_NAMES.policy),
    shipped.replace(/^quarantine:\n/m, `quarantine:\n${lines.map((l) => `  ${l}\n`).join('')}`),
  );
  await copyFile(
    join(DEFAULT_POLICY_DIR, POLICY_FILE_NAMES.agent),
    join(policyDir, POLICY_FILE_NAMES.agent),
  );
  return loadPolicyDir(policyDir);
}

/** The quarantine's bundle of a policy the engine accepted (no lock beside it). */
async function bundleOf(lines: string[]) {
  const loaded = await shippedPolicyWith(`policy-${Math.random().toString(36).slice(2)}`, lines);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const { digest, canonicalDocuments } = loaded.snapshot;
  return loadPolicyBundle({ digest, documents: canonicalDocuments }, dir);
}

/** A stage as the coordinator runs it: params from the bundle, worker in the sandbox. */
function stage(name: SandboxedStage, bundle: PolicyBundle, path: string) {
  const ctx = {
    run: {},
    artifact: { path, kind: path === diffusers ? 'directory' : 'file', signaturePath: null },
    bundle,
    behaviorThreads: 1,
  } as unknown as StageContext;
  return runStage(name, stageRequest(name, ctx));
}

async function okBundle(lines: string[]): Promise<PolicyBundle> {
  const load = await bundleOf(lines);
  if (!load.ok) throw new Error(load.problem);
  return load.bundle;
}

describe('quarantine.format_gate through the real workers', () => {
  it('the shipped policy passes the tiny GGUF and the diffusers pipeline at the format gate', async () => {
    const bundle = await okBundle([]);
    expect(bundle.formatLimits).toEqual({});
    expect(await stage('format_gate', bundle, gguf)).toMatchObject({
      passed: true,
      reasonCode: 'gguf_ok',
    });
    expect(await stage('format_gate', bundle, diffusers)).toMatchObject({
      passed: true,
      reasonCode: 'diffusers_ok',
    });
  });

  it('a tighter tensor bound rejects the tiny GGUF at the gate with the reader’s reason', async () => {
    const bundle = await okBundle(['format_gate:', '  gguf_max_tensors: 1']);
    const outcome = await stage('format_gate', bundle, gguf);
    expect(outcome).toMatchObject({ passed: false, reasonCode: 'gguf_too_many_tensors' });
    expect(outcome.detail).toMatch(/tensors > 1\b/);
    // The later stages read with the same bounds: the static scan cannot read it either.
    const scan = await stage('static_scan', bundle, gguf);
    expect(scan).toMatchObject({ passed: false, reasonCode: 'unsupported_format' });
    expect(scan.detail).toContain('gguf_too_many_tensors');
  });

  it('a tighter file count rejects the diffusers pipeline (diffusers_too_many_files)', async () => {
    const bundle = await okBundle(['format_gate: { diffusers_max_files: 3 }']);
    expect(await stage('format_gate', bundle, diffusers)).toMatchObject({
      passed: false,
      reasonCode: 'diffusers_too_many_files',
    });
  });

  it('the worker refuses bounds that bypassed the bundle (invalid_params)', async () => {
    const outcome = await runStage('format_gate', {
      path: gguf,
      kind: 'file',
      params: { formatLimits: { ggufMaxTensors: 0 } },
    });
    expect(outcome).toMatchObject({ passed: false, reasonCode: 'invalid_params' });
    expect(outcome.detail).toContain('ggufMaxTensors');
  });
});

describe('a policy with a bad bound is refused, naming the key', () => {
  it('by the engine: a bound that is not a non-negative integer', async () => {
    const loaded = await shippedPolicyWith('engine-bad', [
      'format_gate: { gguf_max_tensors: 1.5 }',
    ]);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok)
      expect(JSON.stringify(loaded.problems)).toContain('quarantine.format_gate.gguf_max_tensors');
  });

  it('by the quarantine: an unknown name or a value out of its range', async () => {
    expect(await bundleOf(['format_gate: { gguf_max_tensorz: 1 }'])).toEqual({
      ok: false,
      problem: 'quarantine.format_gate.gguf_max_tensorz: unknown format limit "gguf_max_tensorz"',
    });
    expect(await bundleOf(['format_gate: { gguf_max_rank: 5 }'])).toEqual({
      ok: false,
      problem: 'quarantine.format_gate.gguf_max_rank: ggufMaxRank must be an integer in [1, 4]',
    });
  });
});

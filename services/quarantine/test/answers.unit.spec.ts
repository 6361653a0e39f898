import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULE_IDS } from '@secai/policy-engine';
import {
  DEFAULT_NEXT_STEP,
  NEXT_STEPS,
  PROVENANCE_REASONS,
  directoryGateVerdict,
  fileGateVerdict,
  nextStepFor,
  reasonCodeOf,
} from '../src/index.js';
import { buildTinyLlamaGguf } from '@secai/quarantine/testing';
import {
  detectPolyglotFile,
  inspectDiffusersDirectory,
  inspectGguf,
  inspectSafetensors,
} from '@secai/formats';
import {
  PICKLES,
  SMALL_TENSORS,
  buildSafetensors,
  safetensorsZipPolyglot,
  writeDiffusersDir,
} from '@secai/formats/testing';

// Issue 11 §3: every reason code the quarantine can produce has its own next-step line, and the
// format gate's answers say what is wrong in a user's words. The codes are collected here from
// the sources themselves (the parsers' and stages' unions, every `reasonCode: '...'` a stage
// writes, the engine's rule ids), not from the table under test.
const SRC = join(import.meta.dirname, '..', 'src');

/** A source file of the quarantine, or of @secai/formats or @secai/sandbox (`formats/...`). */
async function source(rel: string): Promise<string> {
  const pkg = /^(formats|sandbox)\//.exec(rel)?.[1];
  const path = pkg
    ? fileURLToPath(new URL(`../../../${pkg}/src/${rel.slice(pkg.length + 1)}`, import.meta.url))
    : join(SRC, rel);
  return readFile(path, 'utf8');
}

/** The string members of `export type <name> = | 'a' | 'b' ...;` in a source file. */
async function unionMembers(rel: string, name: string): Promise<string[]> {
  const text = await source(rel);
  const start = text.indexOf(`export type ${name} =`);
  expect(start, `${name} in ${rel}`).toBeGreaterThanOrEqual(0);
  const body = text.slice(start, text.indexOf(';', start));
  return [...body.matchAll(/\|\s*'([a-z0-9_]+)'/g)].map((m) => m[1]!);
}

/** Every literal a stage writes as its reason code. */
async function literalReasonCodes(rel: string): Promise<string[]> {
  const text = await source(rel);
  return [...text.matchAll(/reasonCode:\s*'([a-z0-9_.]+)'/g)].map((m) => m[1]!);
}

async function everyCode(): Promise<Map<string, string>> {
  const codes = new Map<string, string>(); // code → where it comes from
  const add = (list: readonly string[], from: string) => {
    for (const c of list) codes.set(c, from);
  };
  const gguf = await unionMembers('formats/gguf/types.ts', 'GgufRejection');
  add(
    gguf.filter((r) => r !== 'bad_magic').map((r) => `gguf_${r}`),
    'format_gate (gguf)',
  );
  add(
    (await unionMembers('formats/safetensors.ts', 'SafetensorsReason')).map(
      (r) => `safetensors_${r}`,
    ),
    'format_gate (safetensors)',
  );
  const diffusers = await unionMembers('formats/diffusers.ts', 'DiffusersFindingCode');
  add(
    diffusers.map((r) => `diffusers_${r}`),
    'format_gate (diffusers)',
  );
  add(
    ['unknown_format', 'pickle_format', 'polyglot', 'unreadable', 'gguf_ok', 'safetensors_ok'],
    'format_gate',
  );
  add(await literalReasonCodes('stages/formatGate.ts'), 'format_gate');
  add(await unionMembers('stages/staticScan.ts', 'StaticScanReason'), 'static_scan');
  add(diffusers, 'diffusion_scan');
  add(await unionMembers('scan/diffusionScan.ts', 'DiffusionIssueCode'), 'diffusion_scan');
  add(PROVENANCE_REASONS, 'provenance');
  for (const rel of [
    'stages/hashPin.ts',
    'stages/sourcePolicy.ts',
    'stages/staticScan.ts',
    'stages/diffusionScan.ts',
    'stages/provenance.ts',
    'stages/behavioralTest.ts',
    'workers/hashPin.ts',
    'workers/provenance.ts',
    'workers/staticScan.ts',
    'workers/behavioralTest.ts',
    'workers/diffusionScan.ts',
    'scan/behaviorStage.ts',
    'scan/staticScan.ts',
    'scan/diffusionScan.ts',
    'service/run.ts',
  ])
    add(await literalReasonCodes(rel), rel);
  add(
    (await unionMembers('sandbox/runSandboxed.ts', 'SandboxFailure')).map((f) => `worker_${f}`),
    'runStage',
  );
  add(await unionMembers('intake/snapshot.ts', 'IntakeRefusalReason'), 'import');
  add(await unionMembers('service/importer.ts', 'ImportRefusalCode'), 'import');
  const service = await source('service/service.ts');
  add(
    [...service.matchAll(/code:\s*'([A-Za-z_]+)'/g)].map((m) => m[1]!),
    'import command',
  );
  // The engine's rule ids the run records (the source stage's code, a denied promotion's code).
  const sample = (id: string) => id.replace('<format>', 'gguf').replace('<stage>', 'format_gate');
  add(
    [...RULE_IDS.model_source, ...RULE_IDS.model_promotion, 'policy.unavailable'].map((id) =>
      reasonCodeOf(sample(id)),
    ),
    'policy engine',
  );
  return codes;
}

describe('nextStepFor', () => {
  it('has a specific one-line step for every reason code the quarantine can produce', async () => {
    const codes = await everyCode();
    expect(codes.size).toBeGreaterThan(150);
    const missing = [...codes].filter(([code]) => nextStepFor(code) === DEFAULT_NEXT_STEP);
    expect(missing).toEqual([]);
    for (const code of codes.keys()) {
      const step = nextStepFor(code);
      expect(step, code).toMatch(/^\S.{10,250}$/);
      expect(step, code).not.toMatch(/[\r\n]/);
    }
  });

  it('gives the default for a code nobody produces, and matches codes case-insensitively', () => {
    expect(nextStepFor('no_such_code')).toBe(DEFAULT_NEXT_STEP);
    expect(DEFAULT_NEXT_STEP).toMatch(/secai model show/);
    expect(nextStepFor('POLICY_UNAVAILABLE')).toBe(nextStepFor('policy_unavailable'));
    expect(nextStepFor('models.deny_formats.pickle')).toMatch(/format/);
  });

  it('says the same thing for a code wherever it comes from', () => {
    const seen = new Map<string, string>();
    for (const table of Object.values(NEXT_STEPS)) {
      for (const [code, step] of Object.entries(table)) {
        if (seen.has(code)) expect(step, code).toBe(seen.get(code));
        seen.set(code, step);
      }
    }
  });

  it('says specific things for the issue’s cases', () => {
    expect(nextStepFor('pickle_format')).toMatch(/safetensors/);
    expect(nextStepFor('unknown_format')).toMatch(/\.gguf or \.safetensors/);
    expect(nextStepFor('gguf_truncated')).toMatch(/incomplete: download or copy it again/);
    expect(nextStepFor('safetensors_header_invalid_json')).toMatch(/malformed/);
    expect(nextStepFor('diffusers_pickle_format')).toMatch(/safe_serialization=True/);
    expect(nextStepFor('already_promoted')).toMatch(/remove it first/);
  });
});

describe('format gate verdicts in process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secai-answers-unit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function verdictOf(name: string, bytes: Uint8Array | string) {
    const path = join(dir, name);
    await writeFile(path, bytes);
    const gguf = await inspectGguf(path);
    return fileGateVerdict({
      polyglot: await detectPolyglotFile(path),
      gguf,
      ...(!gguf.ok && gguf.reason === 'bad_magic'
        ? { safetensors: await inspectSafetensors(path) }
        : {}),
    });
  }

  it('passes a valid GGUF and a valid safetensors file with their facts', async () => {
    expect(await verdictOf('ok.gguf', buildTinyLlamaGguf({ seed: 3 }).buffer)).toMatchObject({
      passed: true,
      reasonCode: 'gguf_ok',
      facts: { format: 'gguf' },
    });
    expect(await verdictOf('ok.safetensors', buildSafetensors(SMALL_TENSORS))).toMatchObject({
      passed: true,
      reasonCode: 'safetensors_ok',
      facts: { format: 'safetensors', tensors: SMALL_TENSORS.length },
    });
  });

  it('names a Git LFS pointer and an empty file for what they are', async () => {
    const lfs = await verdictOf(
      'model.safetensors',
      'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n',
    );
    expect(lfs).toMatchObject({
      passed: false,
      reasonCode: 'unknown_format',
      // Evidence a reader can check with `head -c 16 FILE | xxd`.
      facts: {
        magic_hex: '76657273696f6e2068747470733a2f2f',
        looks_like: 'a_Git_LFS_pointer_file',
      },
    });
    expect(lfs.detail).toMatch(
      /^not a GGUF or safetensors file \(magic 76 65 72 73 "vers"\): a Git LFS pointer/,
    );
    const empty = await verdictOf('empty.gguf', '');
    expect(empty.detail).toBe('not a GGUF or safetensors file (empty file)');
    expect(empty.facts).toEqual({ magic_hex: 'empty' });
  });

  it('refuses a protocol-0 pickle as a pickle format, naming os.system', async () => {
    const v = await verdictOf('old.pkl', PICKLES.osSystemGlobal);
    expect(v).toMatchObject({
      reasonCode: 'pickle_format',
      facts: { container: 'pickle', dangerous_global: 'os.system' },
    });
    expect(v.detail).toMatch(/^a Python pickle: policy refuses pickle formats/);
  });

  it('keeps a model hiding a second container a polyglot, in words', async () => {
    const v = await verdictOf('poly.safetensors', safetensorsZipPolyglot());
    expect(v.reasonCode).toBe('polyglot');
    expect(v.detail).toMatch(/^the safetensors file is also valid as another container/);
    expect(v.detail).toContain('os.system');
  });

  it('gives a directory with one problem its finding’s code and words', async () => {
    const root = join(dir, 'pipe');
    await writeDiffusersDir(root, 'pickleBin');
    const v = directoryGateVerdict(await inspectDiffusersDirectory(root));
    expect(v).toMatchObject({ passed: false, reasonCode: 'diffusers_pickle_format' });
    expect(v.detail).toMatch(/^1 problem in the directory: \S+\.bin: a pickle weight file/);
  });
});

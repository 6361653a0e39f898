import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ModelFileHasher,
  compareTokens,
  judgeReferenceDrift,
  judgeSentinel,
  judgeTensorHash,
  tokenSimilarity,
  type ModelFileObservation,
  type SentinelObservation,
  type SentinelRun,
} from '../src/index.js';

// The model probes: tensor_hash over the registry's files, and the sentinel comparison on token
// ids (pure, as the issue asks until the inference service lands; the real path is
// sentinelDrift.int.spec.ts).

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const A = digest('a');
const B = digest('b');
const C = digest('c');
const X = digest('e');

const file = (
  model: string,
  actual: ModelFileObservation['actual'] = { kind: 'hashed', digest: model },
): ModelFileObservation => ({
  digest: model,
  name: `model-${model.slice(7, 9)}`,
  storePath: `sha256/${model.slice(7)}/m.gguf`,
  actual,
});
const baselineOf = (...models: string[]) =>
  Object.fromEntries(models.map((m) => [`sha256/${m.slice(7)}/m.gguf`, m]));

describe('tensor_hash', () => {
  it('passes when every file matches its baseline', () => {
    const j = judgeTensorHash([file(A), file(B)], baselineOf(A, B));
    expect(j).toMatchObject({ status: 'pass', score: 0 });
    expect(j.findings).toEqual([{ description: '2 of 2 model files match', severity: 'info' }]);
  });

  it('one changed file of three drifts (1/3), the reference scoring', () => {
    const j = judgeTensorHash(
      [file(A), file(B, { kind: 'hashed', digest: X }), file(C)],
      baselineOf(A, B, C),
    );
    expect(j).toMatchObject({ status: 'drift', score: 0.3333 });
    expect(j.findings[0]).toEqual({
      description: 'hash mismatch',
      severity: 'critical',
      detail: `${B} model-bb (sha256/${B.slice(7)}/m.gguf): expected sha256:bbbbbbbbbbbb…, found sha256:eeeeeeeeeeee…`,
    });
  });

  it('the only file changed fails (1.0); a missing or unreadable one counts as changed', () => {
    expect(judgeTensorHash([file(A, { kind: 'hashed', digest: X })], baselineOf(A))).toMatchObject({
      status: 'fail',
      score: 1,
    });
    const j = judgeTensorHash(
      [file(A, { kind: 'missing' }), file(B, { kind: 'unreadable', code: 'ARTIFACT_SYMLINK' })],
      baselineOf(A, B),
    );
    expect(j).toMatchObject({ status: 'fail', score: 1 });
    expect(j.findings.map((f) => f.description)).toEqual([
      'model file missing',
      'model file unreadable',
      '0 of 2 model files match',
    ]);
  });

  it("a model in no baseline yet is checked against the registry's digest (warning, no score)", () => {
    const ok = judgeTensorHash([file(A), file(B)], baselineOf(A));
    expect(ok).toMatchObject({ status: 'pass', score: 0 });
    expect(ok.findings[0]).toMatchObject({
      description: 'new file not in baseline',
      severity: 'warning',
    });
    const changed = judgeTensorHash([file(A, { kind: 'hashed', digest: X })], {});
    expect(changed).toMatchObject({ status: 'fail', score: 1 });
    expect(changed.findings[0]!.description).toBe("hash differs from the registry's digest");
  });

  it('skips with no model files in the store', () => {
    expect(judgeTensorHash([], baselineOf(A))).toMatchObject({
      status: 'skip',
      findings: [{ description: 'no model files in the registry store' }],
    });
  });
});

describe('the model file hasher', () => {
  let store: string;
  const bytes = randomBytes(4096);
  const hex = createHash('sha256').update(bytes).digest('hex');
  const entry = { digest: `sha256:${hex}`, name: 'tiny', storePath: `sha256/${hex}/tiny.gguf` };

  beforeAll(async () => {
    store = await mkdtemp(join(tmpdir(), 'secai-gpu-store-'));
    await mkdir(join(store, 'sha256', hex), { recursive: true });
    await writeFile(join(store, entry.storePath), bytes);
  });
  afterAll(() => rm(store, { recursive: true, force: true }));

  it("hashes a stored file with the registry's digest, then sees a change written in place", async () => {
    const hasher = new ModelFileHasher(store);
    expect((await hasher.observe(entry)).actual).toEqual({ kind: 'hashed', digest: entry.digest });
    expect((await hasher.observe(entry)).actual).toEqual({ kind: 'hashed', digest: entry.digest });
    expect(hasher.hashed).toBe(1); // the second look came from the cache
    const fh = await open(join(store, entry.storePath), 'r+');
    await fh.write(Buffer.from([bytes[0]! ^ 0xff]), 0, 1, 0);
    await fh.close();
    const after = await hasher.observe(entry);
    expect(after.actual.kind).toBe('hashed');
    expect(after.actual).not.toEqual({ kind: 'hashed', digest: entry.digest });
    expect(hasher.hashed).toBe(2);
  });

  it('reports a file that is not there as missing', async () => {
    const hasher = new ModelFileHasher(store);
    const gone = { ...entry, storePath: `sha256/${'0'.repeat(64)}/tiny.gguf` };
    expect((await hasher.observe(gone)).actual).toEqual({ kind: 'missing' });
  });
});

describe('token comparison', () => {
  it('measures where two answers part (common prefix over the longer)', () => {
    expect(tokenSimilarity([1, 2, 3, 4], [1, 2, 3, 4])).toBe(1);
    expect(tokenSimilarity([], [])).toBe(1);
    expect(tokenSimilarity([1, 2, 3, 4], [1, 2, 3, 9])).toBe(0.75);
    expect(tokenSimilarity([1, 2, 3, 4], [9, 2, 3, 4])).toBe(0);
    expect(tokenSimilarity([1, 2], [1, 2, 3, 4])).toBe(0.5);
    expect(tokenSimilarity([1, 2, 3, 4], [])).toBe(0);
  });

  it('any difference is at least a drift; an early one is a failure', () => {
    expect(compareTokens([5, 6, 7, 8], [5, 6, 7, 8])).toEqual({
      status: 'pass',
      similarity: 1,
      firstDifference: null,
    });
    expect(compareTokens([5, 6, 7, 8], [5, 6, 7, 1])).toEqual({
      status: 'drift',
      similarity: 0.75,
      firstDifference: 3,
    });
    expect(compareTokens([5, 6, 7, 8], [5, 1, 7, 8])).toEqual({
      status: 'fail',
      similarity: 0.25,
      firstDifference: 1,
    });
  });
});

const EXPECTED = [11, 12, 13, 14, 15, 16, 17, 18];
const tokens = (t: number[]): SentinelRun => ({ kind: 'tokens', tokens: t });
const ran = (model: string, ...runs: SentinelRun[]): SentinelObservation => ({
  model,
  name: 'tiny',
  expected: EXPECTED,
  outcome: { kind: 'ran', runs },
});

describe('sentinel_inference', () => {
  it('passes when the tokens repeat', () => {
    const j = judgeSentinel([ran(A, tokens(EXPECTED))]);
    expect(j).toMatchObject({ status: 'pass', score: 0 });
    expect(j.findings).toEqual([
      {
        description: 'sentinel tokens match the baseline',
        severity: 'info',
        detail: `${A} tiny: 8 tokens`,
      },
    ]);
  });

  it('a late divergence drifts (drifts / total × 0.5)', () => {
    const j = judgeSentinel([
      ran(A, tokens([11, 12, 13, 14, 15, 16, 17, 99])),
      ran(B, tokens(EXPECTED)),
    ]);
    expect(j).toMatchObject({ status: 'drift', score: 0.25 });
    expect(j.findings[0]).toEqual({
      description: 'sentinel tokens drifted',
      severity: 'warning',
      detail: `${A} tiny: 8 baseline tokens, first difference at token 7 (similarity 0.875)`,
    });
  });

  it('other weights (an early divergence) fail ((fails + drifts) / total)', () => {
    const j = judgeSentinel([
      ran(A, tokens([3, 3, 3, 3, 3, 3, 3, 3])),
      ran(B, tokens([11, 12, 13, 14, 15, 16, 17, 99])),
      ran(C, tokens(EXPECTED)),
    ]);
    expect(j).toMatchObject({ status: 'fail', score: 0.6667 });
    expect(j.findings.map((f) => [f.description, f.severity])).toEqual([
      ['sentinel tokens differ', 'critical'],
      ['sentinel tokens drifted', 'warning'],
      ['sentinel tokens match the baseline', 'info'],
    ]);
  });

  it('a model not loaded is not compared; none loaded skips', () => {
    const j = judgeSentinel([ran(A, { kind: 'not_loaded' }), ran(B, { kind: 'unknown' })]);
    expect(j.status).toBe('skip');
    expect(j.findings[0]!.description).toBe('no model with a sentinel baseline is loaded');
    expect(judgeSentinel([])).toMatchObject({
      status: 'skip',
      findings: [{ description: 'no model has a sentinel baseline yet' }],
    });
  });

  it('inference not answering is an error, not a failed model (the reference failed it)', () => {
    const j = judgeSentinel([
      ran(A, { kind: 'error', message: 'inference unreachable at http://127.0.0.1:8465' }),
      ran(B, tokens(EXPECTED)),
    ]);
    expect(j).toMatchObject({ status: 'error', score: 0.25 });
  });

  it('a skipped target is noted and not counted', () => {
    const j = judgeSentinel([
      {
        model: A,
        name: 'tiny',
        expected: EXPECTED,
        outcome: { kind: 'skipped', reason: 'registry status contained' },
      },
      ran(B, tokens(EXPECTED)),
    ]);
    expect(j).toMatchObject({ status: 'pass', score: 0 });
    expect(j.findings.map((f) => f.detail)).toContain(`${A} tiny: registry status contained`);
  });
});

describe('reference_drift', () => {
  it('stable repeated answers pass', () => {
    const j = judgeReferenceDrift([ran(A, tokens(EXPECTED), tokens(EXPECTED), tokens(EXPECTED))]);
    expect(j).toMatchObject({ status: 'pass', score: 0 });
    expect(j.findings[0]!.description).toBe('reference answers stable');
  });

  it('runs that disagree with each other are flagged even when their mean is small', () => {
    const j = judgeReferenceDrift([
      ran(A, tokens(EXPECTED), tokens(EXPECTED), tokens([11, 12, 13, 14, 15, 16, 17, 0])),
    ]);
    expect(j.status).toBe('pass'); // mean drift 0.0417 < 0.1
    expect(j.findings[0]).toMatchObject({ description: 'reference drift', severity: 'warning' });
  });

  it('mean drift past 0.5 fails; past 0.7 the finding is critical', () => {
    const other = tokens([1, 1, 1, 1, 1, 1, 1, 1]);
    const j = judgeReferenceDrift([ran(A, other, other, other)]);
    expect(j).toMatchObject({ status: 'fail', score: 1 });
    expect(j.findings[0]).toMatchObject({ description: 'reference drift', severity: 'critical' });
    const half = tokens([11, 12, 13, 14, 0, 0, 0, 0]);
    expect(judgeReferenceDrift([ran(A, half, half, half)])).toMatchObject({
      status: 'fail',
      score: 0.5,
    });
    const quarter = tokens([11, 12, 13, 14, 15, 16, 0, 0]);
    expect(judgeReferenceDrift([ran(A, quarter, quarter, quarter)])).toMatchObject({
      status: 'drift',
      score: 0.25,
    });
  });

  it('skips when no model answered; query errors are warnings', () => {
    const j = judgeReferenceDrift([ran(A, { kind: 'error', message: 'inference answered 503' })]);
    expect(j.status).toBe('skip');
    expect(j.findings.map((f) => f.description)).toEqual([
      'reference query failed',
      'no loaded model with a sentinel baseline answered',
    ]);
  });
});

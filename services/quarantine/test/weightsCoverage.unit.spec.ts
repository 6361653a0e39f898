// Weights the statistics cannot read (issue 11 §5): every tensor of such a type is listed, the
// model's share of such parameters is one info finding (`weights_not_analysed`), never scored, and
// the static scan's verdict refuses the model when the share exceeds the policy's
// `maxUnanalysedWeightFraction` (default 1: never). The stage end to end, with YARA, is
// weightsCoverage.int.spec.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectSafetensors } from '@secai/formats';
import { buildSafetensors } from '@secai/formats/testing';
import {
  DEFAULT_STATIC_SCAN_THRESHOLDS,
  combineCoverage,
  ggufWeightReport,
  parseStaticScanThresholds,
  safetensorsWeightReport,
  weightCoverage,
  type StaticScanThresholds,
  type WeightReport,
} from '../src/scan/index.js';
import { staticScanVerdict, type StaticScanFindings } from '../src/stages/staticScan.js';
import { fixtureFiles } from './weightFixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-weight-coverage-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const { put, tiny } = fixtureFiles(() => dir);

const T = (over: Partial<StaticScanThresholds> = {}): StaticScanThresholds => ({
  ...DEFAULT_STATIC_SCAN_THRESHOLDS,
  ...over,
});

/** What the scanners observed in one GGUF file whose YARA and pickle scans found nothing. */
const scanOf = (weights: WeightReport): StaticScanFindings => ({
  kind: 'file',
  yara: { ok: true, matches: [], binary: 'yara', version: '4.5.0', rulesPath: '/rules.yar' },
  files: [
    {
      rel: '',
      format: 'gguf',
      formatDetail: 'GGUF v3',
      pickles: { verdict: 'none', streams: 0, findings: [], bytesScanned: 0 },
      weights,
    },
  ],
});

describe('a GGUF with IQ2_XXS tensors', () => {
  let iq2: { report: WeightReport; fraction: number; tensors: number };
  beforeAll(async () => {
    const { path, report } = await tiny('iq2_xxs.gguf', { weightType: 'iq2_xxs' });
    const unread = report.tensors.filter((t) => t.type === 'IQ2_XXS');
    const all = report.tensors.reduce((a, t) => a + t.elements, 0);
    iq2 = {
      report: await ggufWeightReport(path, report),
      fraction: unread.reduce((a, t) => a + t.elements, 0) / all,
      tensors: unread.length,
    };
  });

  it('lists every IQ2_XXS tensor and names the type and the share of parameters not analysed', () => {
    const { report, fraction, tensors } = iq2;
    expect(tensors).toBe(16); // every matrix; the 5 norms are F32
    expect(fraction).toBeGreaterThan(0.99);
    expect(report.tensors.filter((t) => t.skipped === 'unsupported type')).toHaveLength(tensors);
    expect(report.findings.filter((f) => f.code === 'unsupported_type')).toHaveLength(tensors);
    const notAnalysed = report.findings.filter((f) => f.code === 'weights_not_analysed');
    expect(notAnalysed).toEqual([
      expect.objectContaining({ tensor: 'model', severity: 'info', layer: 'global' }),
    ]);
    expect(notAnalysed[0]?.detail).toContain(`${(fraction * 100).toFixed(2)} % of the parameters`);
    expect(notAnalysed[0]?.detail).toContain('IQ2_XXS (16 tensors)');
    expect(report.coverage.fraction).toBeCloseTo(fraction, 12);
    expect(report.coverage.types).toEqual([
      { type: 'IQ2_XXS', tensors, parameters: report.coverage.notAnalysed },
    ]);
    // A gap in our coverage is not an anomaly of the model: not scored.
    expect(report).toMatchObject({ score: 0, verdict: 'PASS', tensorsAnalyzed: 5 });
  });

  it('passes the default policy with the finding, and fails a strict one with its own reason', () => {
    const { report, fraction } = iq2;
    const lenient = staticScanVerdict(scanOf(report), T());
    expect(lenient).toMatchObject({
      passed: true,
      reasonCode: 'static_scan_ok',
      facts: { weights_unanalysed_types: 'IQ2_XXS', findings: 0, guard_verdict: 'PASS' },
    });
    expect(lenient.facts.weights_unanalysed_fraction).toBeCloseTo(fraction, 4);
    const strict = staticScanVerdict(scanOf(report), T({ maxUnanalysedWeightFraction: 0 }));
    expect(strict).toMatchObject({
      passed: false,
      reasonCode: 'weights_not_analysed',
      facts: { top_finding: 'model:weights_not_analysed' },
    });
    expect(strict.detail).toContain('IQ2_XXS (16 tensors)');
    expect(strict.detail).toContain('policy allows at most 0 %');
    // The threshold is a share: just above the model's passes, just below fails.
    const at = (max: number) =>
      staticScanVerdict(scanOf(report), T({ maxUnanalysedWeightFraction: max })).reasonCode;
    expect(at(fraction + 1e-6)).toBe('static_scan_ok');
    expect(at(fraction - 1e-6)).toBe('weights_not_analysed');
  });

  it('a model the scan reads whole passes the strictest policy', async () => {
    const { path, report } = await tiny('q4_k.gguf', { weightType: 'q4_k' });
    const r = await ggufWeightReport(path, report);
    expect(r.coverage).toMatchObject({ notAnalysed: 0, fraction: 0 });
    expect(staticScanVerdict(scanOf(r), T({ maxUnanalysedWeightFraction: 0 }))).toMatchObject({
      passed: true,
      reasonCode: 'static_scan_ok',
      facts: { weights_unanalysed_fraction: 0, weights_unanalysed_types: '' },
    });
  });
});

describe('coverage of safetensors and of mixed tensors', () => {
  it('F8 tensors are not analysed; integer tensors count on neither side', async () => {
    const p = await put(
      'fp8.safetensors',
      buildSafetensors([
        { name: 'w', dtype: 'F32', shape: [64, 16] },
        { name: 'w8', dtype: 'F8_E4M3', shape: [64, 48] },
        { name: 'position_ids', dtype: 'I64', shape: [4096] },
      ]),
    );
    const st = await inspectSafetensors(p);
    if (!st.ok) throw new Error(st.detail);
    const r = await safetensorsWeightReport(p, st);
    expect(r.coverage).toEqual({
      parameters: 64 * 16 + 64 * 48,
      notAnalysed: 64 * 48,
      fraction: 0.75,
      types: [{ type: 'F8_E4M3', tensors: 1, parameters: 64 * 48 }],
    });
    expect(r.findings.map((f) => `${f.tensor}:${f.code}`)).toEqual([
      'w8:unsupported_type',
      'model:weights_not_analysed',
    ]);
    expect(r.tensors.map((t) => t.skipped ?? 'read')).toEqual([
      'read',
      'unsupported type',
      'not a float tensor',
    ]);
  });

  it('adds the files of a directory up', () => {
    const a = weightCoverage([
      { type: 'Q4_K', elements: 300 },
      { type: 'IQ3_S', elements: 100 },
      { type: 'I32', elements: 1000 },
    ]);
    const b = weightCoverage([
      { type: 'IQ3_S', elements: 50 },
      { type: 'IQ1_M', elements: 250 },
      { type: 'F16', elements: 300 },
    ]);
    expect(combineCoverage([a, b])).toEqual({
      parameters: 1000,
      notAnalysed: 400,
      fraction: 0.4,
      types: [
        { type: 'IQ1_M', tensors: 1, parameters: 250 },
        { type: 'IQ3_S', tensors: 2, parameters: 150 },
      ],
    });
    expect(combineCoverage([])).toMatchObject({ parameters: 0, fraction: 0 });
  });

  it('the policy key is a fraction in [0, 1], default 1', () => {
    expect(DEFAULT_STATIC_SCAN_THRESHOLDS.maxUnanalysedWeightFraction).toBe(1);
    const strict = parseStaticScanThresholds({ maxUnanalysedWeightFraction: 0 });
    expect(strict.ok && strict.thresholds.maxUnanalysedWeightFraction).toBe(0);
    for (const bad of [1.5, -0.1, '0'])
      expect(parseStaticScanThresholds({ maxUnanalysedWeightFraction: bad }).ok).toBe(false);
  });
});

// The static scan stage on a model whose weights it cannot read (IQ2_XXS), end to end in this
// process with the real `yara` binary: the default policy passes it with the coverage facts, a
// strict one (maxUnanalysedWeightFraction 0) refuses it with `weights_not_analysed`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextStepFor } from '../src/answers/nextStep.js';
import { DEFAULT_STATIC_SCAN_THRESHOLDS, staticScan } from '../src/scan/index.js';
import { fixtureFiles } from './weightFixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-weight-coverage-int-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const { tiny } = fixtureFiles(() => dir);

describe('the static scan of a model with IQ2_XXS weights', () => {
  it('passes by default, reporting what it could not read', async () => {
    const { path } = await tiny('iq2_xxs.gguf', { weightType: 'iq2_xxs' });
    const v = await staticScan({ path, kind: 'file' }, { ...DEFAULT_STATIC_SCAN_THRESHOLDS });
    expect(v).toMatchObject({
      passed: true,
      reasonCode: 'static_scan_ok',
      facts: { format: 'gguf', weights_unanalysed_types: 'IQ2_XXS', weights_checked: 5 },
    });
    expect(v.facts.weights_unanalysed_fraction).toBeGreaterThan(0.99);
  });

  it('fails a strict policy with its own reason and next step', async () => {
    const { path } = await tiny('iq2_xxs-strict.gguf', { weightType: 'iq2_xxs' });
    const v = await staticScan(
      { path, kind: 'file' },
      { ...DEFAULT_STATIC_SCAN_THRESHOLDS, maxUnanalysedWeightFraction: 0 },
    );
    expect(v).toMatchObject({ passed: false, reasonCode: 'weights_not_analysed' });
    expect(v.detail).toMatch(/^99\.\d\d % of the parameters .* IQ2_XXS \(16 tensors\)/);
    expect(nextStepFor(v.reasonCode)).toMatch(/max_unanalysed_weight_fraction/);
  });
});

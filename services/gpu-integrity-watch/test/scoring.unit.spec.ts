import { describe, expect, it } from 'vitest';
import type { ProbeResultData } from '@secai/contracts';
import {
  DEFAULT_WEIGHTS,
  anomaliesOf,
  anomalyKey,
  compositeOf,
  trendOf,
  verdictOf,
  weightsOf,
} from '../src/index.js';

// The reference's scoring model (§4.3) and the anomaly rules that turn a cycle into reports.

const probe = (
  name: ProbeResultData['probe'],
  status: ProbeResultData['status'],
  score: number,
  findings: ProbeResultData['findings'] = [],
): ProbeResultData => ({ probe: name, status, score, findings, durationMs: 1 });

const M1 = `sha256:${'1'.repeat(64)}`;
const M2 = `sha256:${'2'.repeat(64)}`;

describe('weights', () => {
  it('are the reference defaults without a policy map', () => {
    expect(weightsOf(undefined)).toBe(DEFAULT_WEIGHTS);
    expect(DEFAULT_WEIGHTS).toEqual({
      tensor_hash: 1,
      sentinel_inference: 1,
      reference_drift: 0.8,
      ecc_status: 0.6,
      driver_fingerprint: 1,
      device_allowlist: 0.8,
    });
  });
  it('count 1 when a policy map leaves one out or sets it to zero', () => {
    expect(weightsOf({ ecc_status: 3, device_allowlist: 0 })).toEqual({
      tensor_hash: 1,
      sentinel_inference: 1,
      reference_drift: 1,
      ecc_status: 3,
      driver_fingerprint: 1,
      device_allowlist: 1,
    });
  });
});

describe('composite', () => {
  it('is Σ(score·w)/Σw over the probes that ran: skips left out, errors in', () => {
    const probes = [
      probe('tensor_hash', 'pass', 0),
      probe('ecc_status', 'drift', 0.4),
      probe('driver_fingerprint', 'skip', 0),
      probe('device_allowlist', 'error', 0.5),
    ];
    // (0·1 + 0.4·0.6 + 0.5·0.8) / (1 + 0.6 + 0.8) = 0.64 / 2.4
    expect(compositeOf(probes, DEFAULT_WEIGHTS)).toBe(0.2667);
  });
  it('is 0 when nothing ran', () => {
    expect(compositeOf([probe('ecc_status', 'skip', 0)], DEFAULT_WEIGHTS)).toBe(0);
  });
});

describe('verdict', () => {
  it('any failed probe is critical, whatever the composite', () => {
    expect(verdictOf([probe('device_allowlist', 'fail', 1)], 0.1)).toBe('critical');
  });
  it('composite ≥ 0.9 critical, ≥ 0.3 warning, else healthy', () => {
    const errors = [probe('ecc_status', 'error', 0.3)];
    expect(verdictOf(errors, 0.9)).toBe('critical');
    expect(verdictOf(errors, 0.3)).toBe('warning');
    expect(verdictOf(errors, 0.2999)).toBe('healthy');
  });
  it('a drifting model probe is at least a warning (the reference diluted it to healthy)', () => {
    const probes = [
      probe('tensor_hash', 'pass', 0),
      probe('sentinel_inference', 'drift', 0.5),
      probe('reference_drift', 'pass', 0),
    ];
    const composite = compositeOf(probes, DEFAULT_WEIGHTS);
    expect(composite).toBeLessThan(0.3);
    expect(verdictOf(probes, composite)).toBe('warning');
  });
  it('a drifting hardware probe is graded by the composite as in the reference', () => {
    const probes = [probe('ecc_status', 'drift', 0.4), probe('driver_fingerprint', 'pass', 0)];
    expect(verdictOf(probes, compositeOf(probes, DEFAULT_WEIGHTS))).toBe('healthy');
  });
});

describe('trend', () => {
  it('is 0 below two cycles, else the newer half mean minus the older half mean', () => {
    expect(trendOf([])).toBe(0);
    expect(trendOf([0.5])).toBe(0);
    expect(trendOf([0, 0, 0.5, 0.5])).toBe(0.5);
    expect(trendOf([0.6, 0.2, 0.2])).toBe(-0.4);
  });
  it('looks at the last ten cycles only', () => {
    expect(trendOf([...Array<number>(20).fill(1), ...Array<number>(10).fill(0)])).toBe(0);
  });
});

describe('anomalies of a cycle', () => {
  const sentinel = probe('sentinel_inference', 'fail', 1, [
    {
      description: 'sentinel tokens differ',
      severity: 'critical',
      detail: `${M1} tiny: 8 baseline tokens…`,
    },
    {
      description: 'sentinel tokens drifted',
      severity: 'warning',
      detail: `${M2} other: 8 baseline tokens…`,
    },
    {
      description: 'inference did not answer the sentinel',
      severity: 'warning',
      detail: `sha256:${'3'.repeat(64)} x: 503`,
    },
  ]);
  const tensor = probe('tensor_hash', 'fail', 1, [
    {
      description: 'hash mismatch',
      severity: 'critical',
      detail: `${M1} tiny (sha256/1…/tiny.gguf): …`,
    },
    { description: 'new file not in baseline', severity: 'warning', detail: `${M2} other (…)` },
  ]);

  it('none for a healthy cycle', () => {
    expect(anomaliesOf([sentinel], 'healthy')).toEqual([]);
  });

  it('one per kind and model; a model that merely drifted is medium', () => {
    const got = anomaliesOf([tensor, sentinel], 'critical');
    expect(got.map((a) => [a.kind, a.model, a.failedProbes, a.severity])).toEqual([
      ['model_drift', M1, ['sentinel_inference'], 'high'],
      ['model_drift', M2, ['sentinel_inference'], 'medium'],
      ['model_file_changed', M1, ['tensor_hash'], 'critical'],
    ]);
    expect(got[0]!.summary).toBe(
      'sha256:111111111111…: sentinel_inference fail: sentinel tokens differ (tiny: 8 baseline tokens…)',
    );
  });

  it('names the probes that found the same model drift', () => {
    const reference = probe('reference_drift', 'drift', 0.3, [
      { description: 'reference drift', severity: 'warning', detail: `${M1} tiny: drift 0.3…` },
    ]);
    const [a] = anomaliesOf([sentinel, reference], 'critical');
    expect(a!.failedProbes).toEqual(['sentinel_inference', 'reference_drift']);
  });

  it('hardware: ECC → hardware_fault, driver → driver_changed, an unknown node → device_unexpected, a missing one → hardware_fault', () => {
    const kinds = (p: ProbeResultData) =>
      anomaliesOf([p], 'critical').map((a) => [a.kind, a.severity]);
    expect(kinds(probe('ecc_status', 'fail', 1))).toEqual([['hardware_fault', 'critical']]);
    expect(kinds(probe('ecc_status', 'drift', 0.4))).toEqual([['hardware_fault', 'medium']]);
    expect(kinds(probe('driver_fingerprint', 'fail', 1))).toEqual([['driver_changed', 'critical']]);
    expect(kinds(probe('device_allowlist', 'fail', 1))).toEqual([['device_unexpected', 'high']]);
    expect(kinds(probe('device_allowlist', 'drift', 0.25))).toEqual([['hardware_fault', 'medium']]);
  });

  it('a probe that could not look (error) makes none', () => {
    expect(anomaliesOf([probe('ecc_status', 'error', 0.3)], 'warning')).toEqual([]);
  });

  it('the same anomaly has the same key; another severity is another key', () => {
    const [a] = anomaliesOf([probe('ecc_status', 'fail', 1)], 'critical');
    const [b] = anomaliesOf([probe('ecc_status', 'fail', 1)], 'warning');
    const [c] = anomaliesOf([probe('ecc_status', 'drift', 0.4)], 'warning');
    expect(anomalyKey(a!)).toBe(anomalyKey(b!));
    expect(anomalyKey(a!)).not.toBe(anomalyKey(c!));
  });
});

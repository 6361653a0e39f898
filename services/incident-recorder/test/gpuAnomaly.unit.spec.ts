import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventData } from '@secai/contracts';
import { deciderSpec } from '@secai/contracts/testing';
import {
  DEFAULT_GPU_OBSERVATIONS,
  DEFAULT_POLICY_FILE,
  OBSERVED_TYPES,
  classify,
  defaultIncidentPolicy,
  incidentDecider,
  parseIncidentPolicy,
  type IncidentPolicy,
  type ObservedEvent,
} from '../src/index.js';

// The GPU integrity watch's anomalies (issue 12 §2): given the shipped policy, when a
// `gpu.anomaly.detected` arrives, then the class, subject and severity it becomes, and the
// containment the incident it opens requests. A model's anomaly is about that model, so its
// containment quarantines the model; the host's is an integrity violation about gpu/<host>.

const spec = deciderSpec(incidentDecider);
let policy: IncidentPolicy;
beforeAll(async () => {
  policy = (await defaultIncidentPolicy()).policy;
});

const HEX = 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb';
const anomaly = (
  over: Partial<EventData<'gpu.anomaly.detected'>> = {},
): EventData<'gpu.anomaly.detected'> => ({
  host: 'appliance-1',
  cycle: 8,
  verdict: 'critical',
  composite: 1,
  kind: 'model_drift',
  severity: 'high',
  model: `sha256:${HEX}`,
  failedProbes: ['sentinel_inference'],
  summary: 'sentinel count: 4 of 4 tokens differ from the baseline',
  ...over,
});
const observed = (data: EventData<'gpu.anomaly.detected'>, id = 'gpu-evt-1'): ObservedEvent => ({
  id,
  type: 'gpu.anomaly.detected',
  source: 'secai://gpu-integrity-watch',
  subject: 'gpu/appliance-1',
  time: '2026-12-07T10:00:00.000Z',
  correlationId: `corr-${id}`,
  data,
});
const ID = 'INC-20261207-100000-abcdefabcdef';

describe('given the shipped incident policy', () => {
  it('the recorder consumes gpu.anomaly.detected', () => {
    expect(OBSERVED_TYPES).toContain('gpu.anomaly.detected');
  });

  describe('when the sentinel of a model answered differently (model_drift)', () => {
    it('then it is a model_behavior_anomaly about model/<hex>, reported by the watch', () => {
      const o = classify(observed(anomaly()), policy);
      expect(o).toEqual({
        class: 'model_behavior_anomaly',
        severity: 'high',
        subject: `model/${HEX}`,
        reportedBy: 'gpu-integrity-watch',
        description:
          'GPU integrity critical on appliance-1 (cycle 8, composite 1): model_drift found by sentinel_inference: sentinel count: 4 of 4 tokens differ from the baseline',
        causeId: 'gpu-evt-1',
        causeIds: ['gpu-evt-1'],
        time: '2026-12-07T10:00:00.000Z',
        correlationId: 'corr-gpu-evt-1',
      });
    });

    it('then the incident it opens quarantines that model', () => {
      const o = classify(observed(anomaly()), policy)!;
      spec
        .given([])
        .when({ type: 'open', incidentId: ID, observation: o, rule: policy.classes[o.class] })
        .then([
          {
            type: 'incident.opened',
            aggregateId: ID,
            data: {
              incidentId: ID,
              class: 'model_behavior_anomaly',
              severity: 'high',
              subject: `model/${HEX}`,
              reportedBy: 'gpu-integrity-watch',
              causeEventIds: ['gpu-evt-1'],
              description: o.description,
            },
          },
          {
            type: 'incident.containment.requested',
            aggregateId: ID,
            data: {
              incidentId: ID,
              actions: [
                { action: 'quarantine_model', target: `model/${HEX}` },
                { action: 'log_alert', target: `incident/${ID}` },
              ],
            },
          },
        ]);
    });

    it('then a drift reported at medium stays at the class severity (a reporter only raises)', () => {
      expect(classify(observed(anomaly({ severity: 'medium' })), policy)!.severity).toBe('high');
      expect(classify(observed(anomaly({ severity: 'critical' })), policy)!.severity).toBe(
        'critical',
      );
    });
  });

  describe('when a model file is not its baseline (model_file_changed)', () => {
    it('then it is a manifest_mismatch about model/<hex>, contained by quarantining the model', () => {
      const o = classify(
        observed(anomaly({ kind: 'model_file_changed', failedProbes: ['tensor_hash'] })),
        policy,
      )!;
      expect(o).toMatchObject({ class: 'manifest_mismatch', subject: `model/${HEX}` });
      expect(policy.classes[o.class].actions[0]).toBe('quarantine_model');
    });
  });

  describe.each([
    ['hardware_fault', 'ecc_status'],
    ['driver_changed', 'driver_fingerprint'],
    ['device_unexpected', 'device_allowlist'],
  ] as const)('when the host reports %s', (kind, probe) => {
    it('then it is a critical integrity_violation about gpu/<host>', () => {
      const o = classify(
        observed(anomaly({ kind, model: null, severity: 'medium', failedProbes: [probe] })),
        policy,
      );
      expect(o).toMatchObject({
        class: 'integrity_violation',
        severity: 'critical',
        subject: 'gpu/appliance-1',
        reportedBy: 'gpu-integrity-watch',
      });
      expect(o!.description).toContain(`${kind} found by ${probe}`);
    });
  });

  describe('when a model kind arrives without a model', () => {
    it('then it stays on gpu/<host> (its quarantine fails closed: no model named)', () => {
      const o = classify(observed(anomaly({ model: null })), policy)!;
      expect(o.subject).toBe('gpu/appliance-1');
    });
  });
});

describe('given a policy that sets a GPU observation to null', () => {
  it('then that anomaly opens nothing, the others still do', () => {
    const quiet: IncidentPolicy = {
      ...policy,
      observations: { ...policy.observations, gpu_hardware_fault: null },
    };
    expect(classify(observed(anomaly({ kind: 'hardware_fault', model: null })), quiet)).toBeNull();
    expect(classify(observed(anomaly()), quiet)).not.toBeNull();
  });
});

describe('given a policy copied before the GPU observations existed', () => {
  it('then it still loads and gets the shipped rules', async () => {
    const shipped = await readFile(DEFAULT_POLICY_FILE, 'utf8');
    const old = shipped.replace(/^ {2}(?:# .*|gpu_[a-z_]+: .*)\n/gm, '');
    expect(old).not.toContain('gpu_');
    const parsed = parseIncidentPolicy(old);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    for (const [kind, rule] of Object.entries(DEFAULT_GPU_OBSERVATIONS))
      expect(parsed.policy.observations[kind as keyof typeof DEFAULT_GPU_OBSERVATIONS]).toEqual(
        rule,
      );
  });

  it('then the shipped file says the same as the defaults', () => {
    for (const [kind, rule] of Object.entries(DEFAULT_GPU_OBSERVATIONS))
      expect(policy.observations[kind as keyof typeof DEFAULT_GPU_OBSERVATIONS]).toEqual(rule);
  });

  it('then a misspelt GPU kind is still refused (the section stays closed)', async () => {
    const shipped = await readFile(DEFAULT_POLICY_FILE, 'utf8');
    const bad = shipped.replace('gpu_driver_changed:', 'gpu_driver_change:');
    const parsed = parseIncidentPolicy(bad);
    expect(parsed.ok).toBe(false);
  });
});

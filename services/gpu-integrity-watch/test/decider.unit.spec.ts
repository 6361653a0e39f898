import { describe, expect, it } from 'vitest';
import { foldEvents, type ProbeResultData, type SentinelReferenceData } from '@secai/contracts';
import { deciderSpec } from '@secai/contracts/testing';
import {
  AUTO_OPERATOR,
  DEFAULT_WEIGHTS,
  MAX_HISTORY,
  gpuDecider,
  type BaselineCaptured,
  type GpuCommand,
  type GpuEvent,
  type GpuRecorded,
} from '../src/index.js';

// The `gpu/<host>` aggregate, given its stored events, when a cycle or a capture is decided,
// then the events it appends: above all, an anomaly is reported once and again only when it
// changed, went away and came back, or a new baseline was captured.

const spec = deciderSpec(gpuDecider);
const HOST = 'appliance-1';
const M1 = `sha256:${'1'.repeat(64)}`;
const M2 = `sha256:${'2'.repeat(64)}`;
const T0 = Date.parse('2026-12-07T10:00:00.000Z');

let n = 0;
const stored = (e: GpuEvent): GpuRecorded => ({
  ...e,
  id: `evt-${++n}`,
  time: new Date(T0 + n * 1000).toISOString(),
});

const pass = (name: ProbeResultData['probe']): ProbeResultData => ({
  probe: name,
  status: 'pass',
  score: 0,
  findings: [],
  durationMs: 3,
});
const sentinelOf = (status: 'fail' | 'drift'): ProbeResultData => ({
  probe: 'sentinel_inference',
  status,
  score: status === 'fail' ? 1 : 0.5,
  findings: [
    {
      description: status === 'fail' ? 'sentinel tokens differ' : 'sentinel tokens drifted',
      severity: status === 'fail' ? 'critical' : 'warning',
      detail: `${M1} tiny: 4 baseline tokens, first difference at token ${status === 'fail' ? 0 : 3} (similarity ${status === 'fail' ? 0 : 0.75})`,
    },
  ],
  durationMs: 40,
});

const healthy = [pass('tensor_hash'), pass('sentinel_inference')];
const drifting = [pass('tensor_hash'), sentinelOf('fail')];
const cycleOf = (probes: ProbeResultData[]): GpuCommand => ({
  type: 'RecordCycle',
  host: HOST,
  probes,
  weights: DEFAULT_WEIGHTS,
});

/** The events a RecordCycle decides, as the store would keep them (for `given`). */
function recorded(given: GpuRecorded[], probes: ProbeResultData[]): GpuRecorded[] {
  const state = foldEvents(gpuDecider, given);
  return gpuDecider.decide(cycleOf(probes), state).events.map(stored);
}

const reference = (model: string, tokens: number[]): SentinelReferenceData => ({
  model,
  name: 'count-v1',
  prompt: { digest: `sha256:${'f'.repeat(64)}`, length: 48 },
  tokens,
  output: { digest: `sha256:${'e'.repeat(64)}`, length: 20 },
});
const capture = (over: Partial<BaselineCaptured> = {}): BaselineCaptured => ({
  host: HOST,
  operator: 'alice',
  reason: 'new driver installed',
  tensorHashes: [{ path: `sha256/${'1'.repeat(64)}/tiny.gguf`, digest: M1 }],
  sentinels: [reference(M1, [3, 17, 17, 250])],
  driver: { version: '550.54.14', module: 'nvidia', moduleDigest: null },
  devices: ['card0', 'renderD128'],
  ...over,
});

describe('when nothing was recorded', () => {
  it('a healthy cycle is cycle 1, composite 0, and nothing else', () => {
    spec
      .given([])
      .when(cycleOf(healthy))
      .then([
        {
          type: 'gpu.probe.completed',
          data: { host: HOST, cycle: 1, probes: healthy, composite: 0, verdict: 'healthy' },
        },
      ]);
  });

  it('a sentinel failure is recorded with its anomaly', () => {
    spec
      .given([])
      .when(cycleOf(drifting))
      .then([
        {
          type: 'gpu.probe.completed',
          data: { host: HOST, cycle: 1, probes: drifting, composite: 0.5, verdict: 'critical' },
        },
        {
          type: 'gpu.anomaly.detected',
          data: {
            host: HOST,
            cycle: 1,
            verdict: 'critical',
            composite: 0.5,
            kind: 'model_drift',
            severity: 'high',
            model: M1,
            failedProbes: ['sentinel_inference'],
            summary:
              'sha256:111111111111…: sentinel_inference fail: sentinel tokens differ (tiny: 4 baseline tokens, first difference at token 0 (similarity 0))',
          },
        },
      ]);
  });
});

describe('when an anomaly was reported', () => {
  const first = recorded([], drifting);

  it('the next cycle finding the same records the cycle only', () => {
    const d = spec
      .given(first)
      .when(cycleOf(drifting))
      .then([
        {
          type: 'gpu.probe.completed',
          data: { host: HOST, cycle: 2, probes: drifting, composite: 0.5, verdict: 'critical' },
        },
      ]);
    expect(d.outcome).toBe('anomaly_known');
  });

  it('it is reported again once it went away and came back', () => {
    const history = [...first, ...recorded(first, healthy)];
    const d = spec
      .given(history)
      .when(cycleOf(drifting))
      .thenDecides({
        events: [
          expect.objectContaining({ type: 'gpu.probe.completed' }) as GpuEvent,
          expect.objectContaining({
            type: 'gpu.anomaly.detected',
            data: expect.objectContaining({ cycle: 3, kind: 'model_drift', model: M1 }) as object,
          }) as GpuEvent,
        ],
        outcome: 'anomaly_reported',
      });
    expect(d.events).toHaveLength(2);
  });

  it('a drift that became a failure is news', () => {
    const drift = [pass('tensor_hash'), sentinelOf('drift')];
    const history = recorded([], drift);
    expect(history.map((e) => e.type)).toEqual(['gpu.probe.completed', 'gpu.anomaly.detected']);
    const d = spec
      .given(history)
      .when(cycleOf(drifting))
      .thenDecides({
        events: [
          expect.objectContaining({ type: 'gpu.probe.completed' }) as GpuEvent,
          expect.objectContaining({
            type: 'gpu.anomaly.detected',
            data: expect.objectContaining({ severity: 'high' }) as object,
          }) as GpuEvent,
        ],
        outcome: 'anomaly_reported',
      });
    expect(d.events).toHaveLength(2);
  });

  it('an operator ceremony makes it news again', () => {
    const history = [...first, stored({ type: 'gpu.baseline.captured', data: capture() })];
    const d = spec
      .given(history)
      .when(cycleOf(drifting))
      .thenDecides({
        events: [
          expect.objectContaining({ type: 'gpu.probe.completed' }) as GpuEvent,
          expect.objectContaining({ type: 'gpu.anomaly.detected' }) as GpuEvent,
        ],
        outcome: 'anomaly_reported',
      });
    expect(d.events).toHaveLength(2);
  });

  it("another model's first-load capture does not", () => {
    const auto = capture({
      operator: AUTO_OPERATOR,
      reason: `first load of ${M2} (other)`,
      tensorHashes: [],
      sentinels: [reference(M2, [1, 2])],
      driver: null,
      devices: [],
    });
    const history = [...first, stored({ type: 'gpu.baseline.captured', data: auto })];
    expect(
      gpuDecider
        .decide(cycleOf(drifting), foldEvents(gpuDecider, history))
        .events.map((e) => e.type),
    ).toEqual(['gpu.probe.completed']);
  });
});

describe('baselines', () => {
  it('the ceremony records what it captured', () => {
    spec
      .given([])
      .when({ type: 'CaptureBaseline', trigger: 'ceremony', data: capture() })
      .then([{ type: 'gpu.baseline.captured', data: capture() }]);
  });

  it('the ceremony refuses the name first-load captures are recorded under', () => {
    spec
      .given([])
      .when({
        type: 'CaptureBaseline',
        trigger: 'ceremony',
        data: capture({ operator: AUTO_OPERATOR }),
      })
      .thenRefuses('OPERATOR_RESERVED', []);
  });

  it('a first load is captured once: a later load compares, never re-baselines', () => {
    const auto = (sentinels: SentinelReferenceData[]) =>
      capture({
        operator: AUTO_OPERATOR,
        reason: 'first load',
        driver: null,
        devices: [],
        sentinels,
      });
    const history = [stored({ type: 'gpu.baseline.captured', data: auto([reference(M1, [1])]) })];
    spec
      .given(history)
      .when({ type: 'CaptureBaseline', trigger: 'first_load', data: auto([reference(M1, [9])]) })
      .thenNothingHappened();
    spec
      .given(history)
      .when({
        type: 'CaptureBaseline',
        trigger: 'first_load',
        data: auto([reference(M1, [9]), reference(M2, [4])]),
      })
      .then([{ type: 'gpu.baseline.captured', data: auto([reference(M2, [4])]) }]);
  });

  it('the baseline is the latest capture per model; only a ceremony sets the host part', () => {
    const ceremony = stored({ type: 'gpu.baseline.captured', data: capture() });
    const auto = stored({
      type: 'gpu.baseline.captured',
      data: capture({
        operator: AUTO_OPERATOR,
        reason: 'first load',
        tensorHashes: [{ path: `sha256/${'2'.repeat(64)}/other.gguf`, digest: M2 }],
        sentinels: [reference(M2, [4, 4])],
        // Whatever a first-load capture carried here, the host baseline is the ceremony's.
        driver: { version: '999', module: 'evil', moduleDigest: null },
        devices: ['card9'],
      }),
    });
    const later = stored({
      type: 'gpu.baseline.captured',
      data: capture({
        operator: 'bob',
        reason: 'model updated',
        sentinels: [reference(M1, [8])],
        tensorHashes: [],
      }),
    });
    const s = foldEvents(gpuDecider, [ceremony, auto, later]);
    expect(Object.keys(s.baseline.sentinels).sort()).toEqual(['1'.repeat(64), '2'.repeat(64)]);
    expect(s.baseline.sentinels['1'.repeat(64)]!.reference.tokens).toEqual([8]);
    expect(s.baseline.sentinels['2'.repeat(64)]!.eventId).toBe(auto.id);
    expect(Object.keys(s.baseline.tensorHashes)).toHaveLength(2);
    expect(s.baseline.host).toMatchObject({
      operator: 'bob',
      driver: { version: '550.54.14', module: 'nvidia' },
      devices: ['card0', 'renderD128'],
      eventId: later.id,
    });
    const onlyAuto = foldEvents(gpuDecider, [auto]);
    expect(onlyAuto.baseline.host).toBeNull();
  });
});

describe('history', () => {
  it(`keeps the last ${MAX_HISTORY} cycles with their times and maps`, () => {
    let history: GpuRecorded[] = [];
    for (let i = 0; i < MAX_HISTORY + 5; i++) history = [...history, ...recorded(history, healthy)];
    const s = foldEvents(gpuDecider, history);
    expect(s.cycle).toBe(MAX_HISTORY + 5);
    expect(s.history).toHaveLength(MAX_HISTORY);
    expect(s.history[0]!.cycle).toBe(6);
    expect(s.history.at(-1)).toEqual({
      cycle: MAX_HISTORY + 5,
      at: history.at(-1)!.time,
      composite: 0,
      verdict: 'healthy',
      probeScores: { tensor_hash: 0, sentinel_inference: 0 },
      probeStatuses: { tensor_hash: 'pass', sentinel_inference: 'pass' },
    });
  });
});

import {
  decided,
  refused,
  type Decider,
  type EventData,
  type GpuProbeName,
  type ProbeResultData,
} from '@secai/contracts';
import { anomaliesOf, anomalyKey } from './anomalies.js';
import {
  AUTO_OPERATOR,
  applyCapture,
  emptyBaseline,
  hexOf,
  isCeremony,
  type BaselineCaptured,
  type GpuBaseline,
} from './baseline.js';
import { compositeOf, probeMaps, verdictOf, type GpuVerdictName, type Weights } from './scoring.js';

// The `gpu/<host>` aggregate: its cycles, anomalies and baselines. The state (baseline, history,
// which anomalies were already reported) is a fold of the aggregate's stored events, never a
// file: a restart, or a replay of an exported bundle, gives the same state.

/** Cycles the history keeps (the reference's shipped profile: 200). */
export const MAX_HISTORY = 200;

export type GpuEventType = 'gpu.baseline.captured' | 'gpu.probe.completed' | 'gpu.anomaly.detected';

/** A decided event of the aggregate. */
export type GpuEvent =
  | { type: 'gpu.baseline.captured'; data: EventData<'gpu.baseline.captured'> }
  | { type: 'gpu.probe.completed'; data: EventData<'gpu.probe.completed'> }
  | { type: 'gpu.anomaly.detected'; data: EventData<'gpu.anomaly.detected'> };

/** An event as stored: what `evolve` folds (it needs the id and the recording time). */
export type GpuRecorded = GpuEvent & { id: string; time: string };

/** One cycle in the history (the reference's `ScoreEntry`). */
export interface ScoreEntry {
  cycle: number;
  at: string;
  composite: number;
  verdict: GpuVerdictName;
  probeScores: Partial<Record<GpuProbeName, number>>;
  probeStatuses: Partial<Record<GpuProbeName, ProbeResultData['status']>>;
}

export interface LatestCycle {
  cycle: number;
  at: string;
  eventId: string;
  probes: ProbeResultData[];
  composite: number;
  verdict: GpuVerdictName;
}

export interface GpuState {
  /** The last cycle recorded (0: none yet). */
  cycle: number;
  baseline: GpuBaseline;
  /** The last `MAX_HISTORY` cycles, oldest first. */
  history: ScoreEntry[];
  latest: LatestCycle | null;
  /** Anomalies reported that still held at the last cycle (`anomalyKey`), not reported again. */
  reported: string[];
  anomaliesReported: number;
}

export type GpuCommand =
  | {
      type: 'RecordCycle';
      host: string;
      /** The probes that ran this cycle, in probe order (disabled ones absent). */
      probes: ProbeResultData[];
      weights: Weights;
    }
  | {
      type: 'CaptureBaseline';
      /** A capture at a model's first load (under `AUTO_OPERATOR`), or the operator ceremony. */
      trigger: 'first_load' | 'ceremony';
      data: BaselineCaptured;
    };

export type GpuRefusalCode = 'OPERATOR_RESERVED' | 'OPERATOR_MISMATCH';

export function initialGpuState(): GpuState {
  return {
    cycle: 0,
    baseline: emptyBaseline(),
    history: [],
    latest: null,
    reported: [],
    anomaliesReported: 0,
  };
}

function decideCycle(c: Extract<GpuCommand, { type: 'RecordCycle' }>, s: GpuState) {
  const cycle = s.cycle + 1;
  const composite = compositeOf(c.probes, c.weights);
  const verdict = verdictOf(c.probes, composite);
  const anomalies = anomaliesOf(c.probes, verdict);
  const reported = new Set(s.reported);
  const fresh = anomalies.filter((a) => !reported.has(anomalyKey(a)));
  const events: GpuEvent[] = [
    {
      type: 'gpu.probe.completed',
      data: { host: c.host, cycle, probes: c.probes, composite, verdict },
    },
    ...fresh.map((a): GpuEvent => ({
      type: 'gpu.anomaly.detected',
      data: {
        host: c.host,
        cycle,
        // Anomalies exist only for a cycle that is not healthy.
        verdict: verdict as 'warning' | 'critical',
        composite,
        kind: a.kind,
        severity: a.severity,
        model: a.model,
        failedProbes: a.failedProbes,
        summary: a.summary,
      },
    })),
  ];
  const outcome =
    fresh.length > 0 ? 'anomaly_reported' : anomalies.length > 0 ? 'anomaly_known' : 'recorded';
  return decided(events, { outcome });
}

function decideCapture(c: Extract<GpuCommand, { type: 'CaptureBaseline' }>, s: GpuState) {
  if (c.trigger === 'ceremony' && !isCeremony(c.data))
    return refused<GpuRefusalCode, GpuEvent>(
      'OPERATOR_RESERVED',
      `${AUTO_OPERATOR} is the name first-load captures are recorded under; name the person`,
    );
  if (c.trigger === 'first_load') {
    if (isCeremony(c.data))
      return refused<GpuRefusalCode, GpuEvent>(
        'OPERATOR_MISMATCH',
        `a first-load capture is recorded under ${AUTO_OPERATOR}`,
      );
    // A model's first load is captured once: a later load compares, it never re-baselines.
    const fresh = c.data.sentinels.filter(
      (r) => !Object.hasOwn(s.baseline.sentinels, hexOf(r.model)),
    );
    if (fresh.length === 0) return decided<GpuEvent>([], { outcome: 'already_captured' });
    return decided<GpuEvent>(
      [{ type: 'gpu.baseline.captured', data: { ...c.data, sentinels: fresh } }],
      { outcome: 'captured' },
    );
  }
  return decided<GpuEvent>([{ type: 'gpu.baseline.captured', data: c.data }], {
    outcome: 'captured',
  });
}

function evolve(s: GpuState, e: GpuRecorded): GpuState {
  switch (e.type) {
    case 'gpu.probe.completed': {
      const d = e.data;
      const entry: ScoreEntry = {
        cycle: d.cycle,
        at: e.time,
        composite: d.composite,
        verdict: d.verdict,
        ...probeMaps(d.probes),
      };
      // An anomaly that no longer holds may be reported again when it comes back.
      const holding = new Set(anomaliesOf(d.probes, d.verdict).map(anomalyKey));
      return {
        ...s,
        cycle: Math.max(s.cycle, d.cycle),
        history: [...s.history, entry].slice(-MAX_HISTORY),
        latest: {
          cycle: d.cycle,
          at: e.time,
          eventId: e.id,
          probes: d.probes,
          composite: d.composite,
          verdict: d.verdict,
        },
        reported: s.reported.filter((k) => holding.has(k)),
      };
    }
    case 'gpu.anomaly.detected': {
      const key = anomalyKey(e.data);
      return {
        ...s,
        reported: s.reported.includes(key) ? s.reported : [...s.reported, key],
        anomaliesReported: s.anomaliesReported + 1,
      };
    }
    case 'gpu.baseline.captured': {
      const baseline = applyCapture(s.baseline, e.data, { eventId: e.id, at: e.time });
      // A new baseline is a new reference: what was reported against the old one may be news.
      const models = new Set(e.data.sentinels.map((r) => r.model));
      const reported = isCeremony(e.data)
        ? []
        : s.reported.filter((k) => ![...models].some((m) => k.includes(`|${m}|`)));
      return { ...s, baseline, reported };
    }
  }
}

/** The GPU watch's rules on its `gpu/<host>` aggregate. */
export const gpuDecider: Decider<
  GpuCommand,
  GpuEvent,
  GpuState,
  never,
  GpuRecorded,
  GpuRefusalCode
> = {
  decide: (command, state) =>
    command.type === 'RecordCycle' ? decideCycle(command, state) : decideCapture(command, state),
  evolve,
  initialState: initialGpuState,
};

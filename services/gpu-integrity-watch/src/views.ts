import type { GpuProbeName, ProbeResultData } from '@secai/contracts';
import { anomaliesOf, anomalyKey, type Anomaly } from './anomalies.js';
import type { GpuState, ScoreEntry } from './decider.js';
import type { PolicyRead } from './policy.js';
import type { DriverFingerprint } from './probes/driver.js';
import { trendOf, type GpuVerdictName } from './scoring.js';

// What the gateway shows of the watch (status, attest state, policy), as pure functions of the
// aggregate's state and what the last cycle observed.

export interface AnomalyView extends Anomaly {
  /** An event records it (false after a new baseline, until the next cycle reports it). */
  reported: boolean;
}

export interface PolicyView {
  active: boolean;
  digest: string | null;
  problem: string | null;
  intervalSeconds: number | null;
  disabledProbes: GpuProbeName[];
}

export interface WatchStatus {
  host: string;
  verdict: GpuVerdictName | 'unknown';
  composite: number | null;
  cycle: number;
  lastCycleAt: string | null;
  probes: ProbeResultData[];
  trend: number;
  anomalies: AnomalyView[];
  anomaliesReported: number;
  baseline: {
    eventId: string;
    capturedAt: string;
    operator: string;
    reason: string;
    sentinels: number;
    tensorHashes: number;
    host: { capturedAt: string; driver: DriverFingerprint | null; devices: string[] } | null;
  } | null;
  policy: PolicyView;
  nextCycleAt: string | null;
}

/** What the runtime attestor reads (the reference's `GPUAttestState`). */
export interface AttestState {
  host: string;
  at: string | null;
  cycle: number;
  verdict: GpuVerdictName | 'unknown';
  composite: number | null;
  probeStatuses: ScoreEntry['probeStatuses'];
  probeScores: ScoreEntry['probeScores'];
  driverVersion: string | null;
  deviceNodes: string[] | null;
  trend: number;
  baselineEventId: string | null;
  policyDigest: string | null;
}

export function policyViewOf(p: PolicyRead): PolicyView {
  return p.ok
    ? {
        active: true,
        digest: p.settings.policyDigest,
        problem: null,
        intervalSeconds: p.settings.intervalMs / 1000,
        disabledProbes: [...p.settings.disabled],
      }
    : {
        active: false,
        digest: null,
        problem: p.problem,
        intervalSeconds: null,
        disabledProbes: [],
      };
}

const trend = (s: GpuState) => trendOf(s.history.map((h) => h.composite));

export function statusOf(
  s: GpuState,
  host: string,
  policy: PolicyRead,
  nextCycleAt: Date | null,
): WatchStatus {
  const latest = s.latest;
  const reported = new Set(s.reported);
  const b = s.baseline;
  return {
    host,
    verdict: latest?.verdict ?? 'unknown',
    composite: latest?.composite ?? null,
    cycle: s.cycle,
    lastCycleAt: latest?.at ?? null,
    probes: latest?.probes ?? [],
    trend: trend(s),
    anomalies: latest
      ? anomaliesOf(latest.probes, latest.verdict).map((a) => ({
          ...a,
          reported: reported.has(anomalyKey(a)),
        }))
      : [],
    anomaliesReported: s.anomaliesReported,
    baseline: b.last
      ? {
          eventId: b.last.eventId,
          capturedAt: b.last.at,
          operator: b.last.operator,
          reason: b.last.reason,
          sentinels: Object.keys(b.sentinels).length,
          tensorHashes: Object.keys(b.tensorHashes).length,
          host: b.host
            ? { capturedAt: b.host.at, driver: b.host.driver, devices: b.host.devices }
            : null,
        }
      : null,
    policy: policyViewOf(policy),
    nextCycleAt: nextCycleAt?.toISOString() ?? null,
  };
}

/**
 * The attest state. The driver and device nodes are what this process last observed (null
 * before its first look): they are not in the events the state is folded from.
 */
export function attestStateOf(
  s: GpuState,
  host: string,
  policy: PolicyRead,
  observed: { driver: DriverFingerprint | null | undefined; devices: string[] | undefined },
): AttestState {
  const last = s.history.at(-1);
  return {
    host,
    at: last?.at ?? null,
    cycle: s.cycle,
    verdict: last?.verdict ?? 'unknown',
    composite: last?.composite ?? null,
    probeStatuses: last?.probeStatuses ?? {},
    probeScores: last?.probeScores ?? {},
    driverVersion: observed.driver?.version ?? null,
    deviceNodes: observed.devices ?? null,
    trend: trend(s),
    baselineEventId: s.baseline.last?.eventId ?? null,
    policyDigest: policy.ok ? policy.settings.policyDigest : null,
  };
}

import type { GpuProbeName, ProbeResultData } from '@secai/contracts';

// What every probe returns, and the small vocabulary its rules share. A probe is two halves: an
// observation (I/O on the injectable root, nvidia-smi, the inference service) and a pure
// judgement of that observation against the baseline. The edge times the pair (`durationMs`).

export type ProbeStatusName = ProbeResultData['status'];
export type Finding = ProbeResultData['findings'][number];
export type FindingSeverity = Finding['severity'];

/** A probe's judgement before the edge timed it. */
export type ProbeJudgement = Omit<ProbeResultData, 'durationMs'>;

/** Findings a result carries at most (the event's bound). */
export const MAX_FINDINGS = 32;

const clip = (text: string, max: number) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

export function finding(severity: FindingSeverity, description: string, detail?: string): Finding {
  return {
    description: clip(description || '-', 256),
    severity,
    ...(detail !== undefined ? { detail: clip(detail, 512) } : {}),
  };
}

export const info = (description: string, detail?: string) => finding('info', description, detail);
export const warning = (description: string, detail?: string) =>
  finding('warning', description, detail);
export const critical = (description: string, detail?: string) =>
  finding('critical', description, detail);

const SEVERITY_RANK: Record<FindingSeverity, number> = { critical: 0, warning: 1, info: 2 };

/**
 * A result, findings most severe first and bounded: past the bound, the least severe are
 * summarised in one last finding, so a critical one is never the one dropped.
 */
export function judgement(
  probe: GpuProbeName,
  status: ProbeStatusName,
  score: number,
  findings: readonly Finding[],
): ProbeJudgement {
  const sorted = findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_RANK[a.f.severity] - SEVERITY_RANK[b.f.severity] || a.i - b.i)
    .map((x) => x.f);
  const kept =
    sorted.length <= MAX_FINDINGS
      ? sorted
      : [
          ...sorted.slice(0, MAX_FINDINGS - 1),
          info(`${sorted.length - MAX_FINDINGS + 1} more findings not listed`),
        ];
  return { probe, status, score: Math.min(1, Math.max(0, round(score))), findings: kept };
}

/** A probe that had nothing to look at, with the reason (a host without a GPU, no baseline). */
export function skipped(probe: GpuProbeName, reason: string, detail?: string): ProbeJudgement {
  return judgement(probe, 'skip', 0, [info(reason, detail)]);
}

/** Four decimals: scores are ratios, and the events should not carry float noise. */
export function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/**
 * The detail of a finding about one model starts with its digest: the anomaly rules name the
 * model from it (the event's findings are all that is stored of a cycle).
 */
export function modelDetail(digest: string, text: string): string {
  return `${digest} ${text}`;
}

const MODEL_IN_DETAIL = /^(sha256:[0-9a-f]{64})(?:\s|$)/;

/** The model a finding is about, or null. */
export function modelOfFinding(f: Finding): string | null {
  return f.detail === undefined ? null : (MODEL_IN_DETAIL.exec(f.detail)?.[1] ?? null);
}

/** `sha256:abcdef012345…`, for sentences. */
export function shortDigest(digest: string): string {
  return digest.startsWith('sha256:') ? `${digest.slice(0, 19)}…` : digest;
}

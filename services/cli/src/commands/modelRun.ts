import type { CloudEvent, EventData, QuarantineStageName } from '@secai/contracts';

// A quarantine run as the operator reads it (issue 11 §3): the stages that ran, and for a
// rejection the failing stage, its reason code, the detail and evidence the stage recorded, that
// the bytes are gone, and what to do next. Pure: events in, a report and its lines out; the next
// step comes from the caller (`nextStepFor` of @secai/quarantine) so this file stays testable alone.

/** One line of advice for a reason code (`nextStepFor` of @secai/quarantine). */
export type NextStep = (reasonCode: string) => string;

/** The facts a stage recorded (`Facts` of the contracts): scalars or short lists of strings. */
export type Evidence = EventData<'quarantine.stage.passed'>['result'];

export interface StageOutcome {
  stage: QuarantineStageName;
  passed: boolean;
  reasonCode: string;
  /** The stage's own words for a failure (`quarantine.stage.failed.reason`); absent on a pass. */
  detail?: string;
  evidence: Evidence;
  durationMs: number;
  sandbox: string;
  network: string;
}

/** Why a model was rejected, in the fields `--json` carries. */
export interface Rejection {
  /** The failing stage; null when the promotion decision rejected it. */
  stage: QuarantineStageName | null;
  reasonCode: string;
  /** The stage's detail (or the decision's reason): what was wrong, in words. */
  detail: string;
  /** The result facts of the failing stage; the decision id for a denied promotion. */
  evidence: Evidence;
  decisionId: string | null;
  /** `model.rejected` is appended only after the quarantined copy was deleted. */
  bytesDeleted: true;
  nextStep: string;
}

export interface ArtifactRun {
  /** The artifact aggregate: the digest's hex. */
  artifact: string;
  digest: string;
  /** The name given at import (`--name`), else the file name. */
  name: string;
  fileName: string;
  kind: 'file' | 'directory';
  sizeBytes: number;
  attempt: number;
  acquiredAt: string;
  outcome: 'promoted' | 'rejected' | 'in_quarantine';
  stages: StageOutcome[];
  /** Stages planned but never run (a failure stops the run). */
  notRun: QuarantineStageName[];
  rejection: Rejection | null;
}

type StageEvent =
  | CloudEvent<EventData<'quarantine.stage.passed'>>
  | CloudEvent<EventData<'quarantine.stage.failed'>>;

/** A stage event as the outcome it reports. */
export function stageOutcome(e: CloudEvent): StageOutcome {
  const d = (e as StageEvent).data;
  const failed = e.type === 'quarantine.stage.failed';
  return {
    stage: d.stage,
    passed: !failed,
    reasonCode: d.reasonCode,
    ...(failed ? { detail: (d as EventData<'quarantine.stage.failed'>).reason } : {}),
    evidence: d.result,
    durationMs: d.durationMs,
    sandbox: d.isolation.sandbox,
    network: d.isolation.network,
  };
}

/** Facts about the stage's worker, not the artifact (its memory peak): no evidence of anything. */
const WORKER_FACTS: ReadonlySet<string> = new Set(['peak_rss_kib']);

function evidenceOf(facts: Evidence): Evidence {
  return Object.fromEntries(Object.entries(facts).filter(([k]) => !WORKER_FACTS.has(k)));
}

/**
 * The rejection `model.rejected` records, completed by the failed stage's event when a stage
 * rejected it: its detail without the "<stage> failed: " prefix the rejection adds, and its facts
 * (less the worker's own measurements).
 */
export function rejectionOf(
  rejected: CloudEvent,
  failedStage: CloudEvent | undefined,
  nextStep: NextStep,
): Rejection {
  const d = rejected.data as EventData<'model.rejected'>;
  const stage = failedStage && d.stage !== null ? stageOutcome(failedStage) : undefined;
  return {
    stage: d.stage,
    reasonCode: d.reasonCode,
    detail: stage?.detail ?? d.reason,
    evidence: stage
      ? evidenceOf(stage.evidence)
      : d.decisionId !== null
        ? { decision_id: d.decisionId }
        : {},
    decisionId: d.decisionId,
    bytesDeleted: true,
    nextStep: nextStep(d.reasonCode),
  };
}

/** The latest run of an artifact (from its last `model.acquired`), or null when it has none. */
export function artifactRun(events: readonly CloudEvent[], nextStep: NextStep): ArtifactRun | null {
  let from = -1;
  events.forEach((e, i) => {
    if (e.type === 'model.acquired') from = i;
  });
  if (from < 0) return null;
  const run = events.slice(from);
  const acquired = run[0]!;
  const a = acquired.data as EventData<'model.acquired'>;
  const started = run.find((e) => e.type === 'quarantine.started')?.data as
    EventData<'quarantine.started'> | undefined;
  const stageEvents = run.filter(
    (e) => e.type === 'quarantine.stage.passed' || e.type === 'quarantine.stage.failed',
  );
  const stages = stageEvents.map(stageOutcome);
  const rejected = run.find((e) => e.type === 'model.rejected');
  const failed = stageEvents.find((e) => e.type === 'quarantine.stage.failed');
  const ran = new Set(stages.map((s) => s.stage));
  return {
    artifact: acquired.subject.slice('artifact/'.length),
    digest: a.digest,
    name: a.displayName ?? a.name,
    fileName: a.name,
    kind: a.kind,
    sizeBytes: a.sizeBytes,
    attempt: started?.attempt ?? 1,
    acquiredAt: acquired.time,
    outcome: rejected
      ? 'rejected'
      : run.some((e) => e.type === 'model.promoted')
        ? 'promoted'
        : 'in_quarantine',
    stages,
    notRun: (started?.plannedStages ?? []).filter((s) => !ran.has(s)),
    rejection: rejected ? rejectionOf(rejected, failed, nextStep) : null,
  };
}

/** `key=value, ...` of a stage's facts, in the order it recorded them. */
export function evidenceText(evidence: Evidence): string {
  return Object.entries(evidence)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`)
    .join(', ');
}

/**
 * A rejection's lines, said once: the detail, the evidence, that the bytes are gone. The stage
 * and code are on the FAILED line above it; only a decision (no stage line) names its code here.
 * The next step is not among them: the caller ends its output with it.
 */
export function rejectionLines(r: Rejection): string[] {
  const evidence = evidenceText(r.evidence);
  return [
    r.stage === null
      ? `rejected by the promotion decision (${r.reasonCode}): ${r.detail}`
      : `rejected: ${r.detail}`,
    ...(evidence ? [`  evidence: ${evidence}`] : []),
    '  the quarantined copy was deleted; nothing was stored',
  ];
}

/** A stage as one line of `model import` (with its duration) or `model show` (with its sandbox). */
export function stageLine(s: StageOutcome, tail: 'duration' | 'sandbox'): string {
  const end = tail === 'duration' ? `${s.durationMs} ms` : `(${s.sandbox}, network ${s.network})`;
  return `  ${s.passed ? 'passed' : 'FAILED'}  ${s.stage.padEnd(16)} ${s.reasonCode}  ${end}`;
}

const OUTCOME = {
  promoted: 'promoted, but not in the registry (removed since)',
  rejected: 'REJECTED',
  in_quarantine: 'in quarantine (the run has not finished)',
} as const;

/** `model show` of an artifact the registry does not hold: its latest run, stage by stage. */
export function runLines(run: ArtifactRun): string[] {
  return [
    `${run.name}  ${run.digest}`,
    `${run.kind} ${run.fileName}, ${run.sizeBytes} bytes, ${OUTCOME[run.outcome]} (attempt ${run.attempt}, acquired ${run.acquiredAt})`,
    ...run.stages.map((s) => stageLine(s, 'sandbox')),
    ...(run.notRun.length > 0 ? [`  not run: ${run.notRun.join(', ')}`] : []),
    ...(run.rejection ? [...rejectionLines(run.rejection), `next: ${run.rejection.nextStep}`] : []),
  ];
}

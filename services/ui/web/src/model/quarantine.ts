import type { EventData } from './catalogue.js';
import { aggregateOf, dataOf, own, type Seen } from './types.js';

// Quarantine runs (aggregate `artifact/<digest hex>`): each stage appears as it passes or fails,
// the finished run keeps its evidence (stage facts, sandbox isolation, provenance, pin, score) and
// its outcome (promoted or rejected).

export type StageName = EventData<'quarantine.stage.passed'>['stage'];
export type StageFacts = EventData<'quarantine.stage.passed'>['result'];
export type StageIsolation = EventData<'quarantine.stage.passed'>['isolation'];

export interface StageRow {
  stage: StageName;
  status: 'pending' | 'passed' | 'failed';
  reasonCode?: string;
  reason?: string;
  failureClass?: string;
  durationMs?: number;
  result?: StageFacts;
  isolation?: StageIsolation;
  time?: string;
}

export type RunStatus = 'running' | 'passed' | 'failed' | 'promoted' | 'rejected';

export interface QuarantineRun {
  artifact: string;
  attempt: number;
  name: string | null;
  displayName: string | null;
  digest: string | null;
  sizeBytes: number | null;
  source: EventData<'model.acquired'>['source'] | null;
  policyDigest: string | null;
  startedAt: string;
  startedSeq: number;
  status: RunStatus;
  stages: StageRow[];
  completed: EventData<'quarantine.completed'> | null;
  outcome:
    | { kind: 'promoted'; decisionId: string; name: string }
    | {
        kind: 'rejected';
        decisionId: string | null;
        reasonCode: string;
        reason: string;
        stage: string | null;
      }
    | null;
  updatedAt: string;
}

export interface QuarantineView {
  /** Every run seen, oldest first. */
  runs: readonly QuarantineRun[];
  /** Per artifact: what `model.acquired` said (it comes before the run starts). */
  acquired: Readonly<Record<string, EventData<'model.acquired'>>>;
}

export const initialQuarantine = (): QuarantineView => ({ runs: [], acquired: {} });

const ARTIFACT_TYPES = new Set([
  'model.acquired',
  'quarantine.started',
  'quarantine.stage.passed',
  'quarantine.stage.failed',
  'quarantine.completed',
  'model.promoted',
  'model.rejected',
]);

export function foldQuarantine(view: QuarantineView, e: Seen): QuarantineView {
  if (!ARTIFACT_TYPES.has(e.event.type)) return view;
  const artifact = aggregateOf(e.event.subject).id;
  const acquired = dataOf(e, 'model.acquired');
  if (acquired) return { ...view, acquired: { ...view.acquired, [artifact]: acquired } };

  const started = dataOf(e, 'quarantine.started');
  if (started) {
    const claim = own(view.acquired, artifact);
    const run: QuarantineRun = {
      artifact,
      attempt: started.attempt,
      name: claim?.name ?? null,
      displayName: claim?.displayName ?? null,
      digest: claim?.digest ?? null,
      sizeBytes: claim?.sizeBytes ?? null,
      source: claim?.source ?? null,
      policyDigest: started.policyDigest,
      startedAt: e.event.time,
      startedSeq: e.seq,
      status: 'running',
      stages: started.plannedStages.map((stage) => ({ stage, status: 'pending' })),
      completed: null,
      outcome: null,
      updatedAt: e.event.time,
    };
    return { ...view, runs: [...view.runs, run] };
  }

  // Everything else belongs to the artifact's latest run (one seen in this window).
  let index = -1;
  for (let i = view.runs.length - 1; i >= 0; i--) {
    if (view.runs[i]?.artifact === artifact) {
      index = i;
      break;
    }
  }
  const current = view.runs[index];
  if (current === undefined) return view;
  const run: QuarantineRun = { ...current, updatedAt: e.event.time };

  const passed = dataOf(e, 'quarantine.stage.passed');
  const failed = dataOf(e, 'quarantine.stage.failed');
  const completed = dataOf(e, 'quarantine.completed');
  const promoted = dataOf(e, 'model.promoted');
  const rejected = dataOf(e, 'model.rejected');
  if (passed || failed) {
    const d = (passed ?? failed)!;
    const row: StageRow = {
      stage: d.stage,
      status: passed ? 'passed' : 'failed',
      reasonCode: d.reasonCode,
      durationMs: d.durationMs,
      result: d.result,
      isolation: d.isolation,
      time: e.event.time,
    };
    if (failed) {
      row.reason = failed.reason;
      if (failed.failureClass !== undefined) row.failureClass = failed.failureClass;
    }
    const at = run.stages.findIndex((s) => s.stage === d.stage);
    run.stages = at === -1 ? [...run.stages, row] : run.stages.map((s, i) => (i === at ? row : s));
    if (failed) run.status = 'failed';
  } else if (completed) {
    run.completed = completed;
    if (run.status === 'running' || run.status === 'failed')
      run.status = completed.passed ? 'passed' : 'failed';
  } else if (promoted) {
    run.status = 'promoted';
    run.outcome = { kind: 'promoted', decisionId: promoted.decisionId, name: promoted.name };
    run.digest ??= promoted.digest;
  } else if (rejected) {
    run.status = 'rejected';
    run.outcome = {
      kind: 'rejected',
      decisionId: rejected.decisionId,
      reasonCode: rejected.reasonCode,
      reason: rejected.reason,
      stage: rejected.stage,
    };
  }
  const runs = view.runs.slice();
  runs[index] = run;
  return { ...view, runs };
}

/** Runs still going, and finished ones (newest first). */
export function runsByState(view: QuarantineView): {
  inProgress: QuarantineRun[];
  finished: QuarantineRun[];
} {
  const newestFirst = [...view.runs].reverse();
  return {
    inProgress: newestFirst.filter((r) => r.status === 'running'),
    finished: newestFirst.filter((r) => r.status !== 'running'),
  };
}

/** The latest run of an artifact (for the registry's provenance column). */
export function latestRunOf(view: QuarantineView, artifact: string): QuarantineRun | null {
  for (let i = view.runs.length - 1; i >= 0; i--) {
    const run = view.runs[i];
    if (run?.artifact === artifact) return run;
  }
  return null;
}

import {
  IllegalStateError,
  type CloudEvent,
  type DraftEvent,
  type EventData,
  type QuarantineStageName,
} from '@secai/contracts';
import {
  nextStep,
  plannedStages,
  replayRun,
  type NextStep,
  type QuarantineMachineEvent,
  type QuarantineSnapshot,
} from '../machine.js';

/**
 * The pure side of the quarantine service: what the stored events of one artifact say about its
 * current run, and the exact events the next step appends. Time and ids come in as arguments;
 * the coordinator does the I/O.
 */
export interface RunView {
  /** The artifact aggregate id (digest hex). */
  artifactId: string;
  acquired: EventData<'model.acquired'>;
  acquiredEventId: string;
  /** Runs started on this artifact before the current one, plus one once it has started. */
  attempt: number;
  /** Events of the current run: from its `model.acquired` on. */
  events: readonly CloudEvent[];
  snapshot: QuarantineSnapshot;
  next: NextStep;
  /** The run's correlation id (its `quarantine.started`), null before it started. */
  correlationId: string | null;
  /** Id of the run's `quarantine.completed`, null before. */
  completedEventId: string | null;
  policyDigest: string | null;
}

type AnyEvent = Pick<CloudEvent, 'id' | 'type' | 'data' | 'correlationid' | 'time'>;

/** The machine events of a run's stored events (other types are not the machine's). */
export function toMachineEvents(events: readonly AnyEvent[]): QuarantineMachineEvent[] {
  const out: QuarantineMachineEvent[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'quarantine.started': {
        const d = e.data as EventData<'quarantine.started'>;
        out.push({
          type: 'quarantine.started',
          plannedStages: d.plannedStages,
          policyDigest: d.policyDigest,
        });
        break;
      }
      case 'quarantine.stage.passed':
        out.push({
          type: 'quarantine.stage.passed',
          stage: (e.data as EventData<'quarantine.stage.passed'>).stage,
        });
        break;
      case 'quarantine.stage.failed': {
        const d = e.data as EventData<'quarantine.stage.failed'>;
        out.push({ type: 'quarantine.stage.failed', stage: d.stage, reasonCode: d.reasonCode });
        break;
      }
      case 'quarantine.completed':
      case 'model.promoted':
      case 'model.rejected':
        out.push({ type: e.type });
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * The current run of an artifact: the events from its last `model.acquired` on (an artifact
 * rejected earlier may be imported again and gets a new run). Null when it was never acquired.
 */
export function viewRun(artifactId: string, history: readonly AnyEvent[]): RunView | null {
  let start = -1;
  let attempts = 0;
  history.forEach((e, i) => {
    if (e.type === 'model.acquired') start = i;
    if (e.type === 'quarantine.started') attempts++;
  });
  if (start < 0) return null;
  const events = history.slice(start) as CloudEvent[];
  const snapshot = replayRun(toMachineEvents(events));
  const started = events.find((e) => e.type === 'quarantine.started');
  const completed = events.find((e) => e.type === 'quarantine.completed');
  return {
    artifactId,
    acquired: events[0]!.data as EventData<'model.acquired'>,
    acquiredEventId: events[0]!.id,
    attempt: started ? attempts : attempts + 1,
    events,
    snapshot,
    next: nextStep(snapshot),
    correlationId: started?.correlationid ?? null,
    completedEventId: completed?.id ?? null,
    policyDigest: started ? (started.data as EventData<'quarantine.started'>).policyDigest : null,
  };
}

/** Stages planned for an artifact: directories get the diffusion scan, GGUF files the behavioural test. */
export function planFor(kind: 'file' | 'directory', ggufMagic: boolean): QuarantineStageName[] {
  if (kind === 'directory') return plannedStages('diffusion-directory');
  return plannedStages(ggufMagic ? 'gguf' : 'safetensors');
}

export function startedEvent(
  view: RunView,
  plan: readonly QuarantineStageName[],
  policyDigest: string,
): DraftEvent<'quarantine.started'> {
  return {
    type: 'quarantine.started',
    aggregateId: view.artifactId,
    data: { attempt: view.attempt, policyDigest, plannedStages: [...plan] },
  };
}

/** Result facts of a stage event, by stage, for the current run. */
function stageResults(
  view: RunView,
): Map<QuarantineStageName, EventData<'quarantine.stage.passed'>> {
  const out = new Map<QuarantineStageName, EventData<'quarantine.stage.passed'>>();
  for (const e of view.events) {
    if (e.type === 'quarantine.stage.passed') {
      const d = e.data as EventData<'quarantine.stage.passed'>;
      out.set(d.stage, d);
    }
  }
  return out;
}

const PROVENANCE_LEVELS = ['none', 'recorded', 'signature-verified', 'manifest-pinned'] as const;
const PIN_STATUSES = ['pinned', 'first_use', 'unpinned', 'mismatch', 'blocked'] as const;
const FORMATS = ['gguf', 'safetensors', 'diffusion-directory'] as const;

function oneOf<T extends string>(values: readonly T[], value: unknown, fallback: T): T {
  return values.includes(value as T) ? (value as T) : fallback;
}

/** `quarantine.completed` once every planned stage passed: the whole result for the policy engine. */
export function completedEvent(view: RunView, now: Date): DraftEvent<'quarantine.completed'> {
  if (view.next.kind !== 'complete')
    throw new IllegalStateError(`run ${view.artifactId} is not ready to complete`);
  const results = stageResults(view);
  const r = (stage: QuarantineStageName) => results.get(stage)?.result ?? {};
  const behavior = results.get('behavioral_test')?.result;
  const started = view.events.find((e) => e.type === 'quarantine.started')!;
  const signer = r('provenance').signer;
  return {
    type: 'quarantine.completed',
    aggregateId: view.artifactId,
    data: {
      passed: true,
      reasonCode: 'all_stages_passed',
      format:
        view.acquired.kind === 'directory'
          ? 'diffusion-directory'
          : oneOf(FORMATS, r('format_gate').format, 'safetensors'),
      sizeBytes: view.acquired.sizeBytes,
      signer: typeof signer === 'string' && signer !== '' ? signer.slice(0, 256) : null,
      failedStage: null,
      stages: [...results.values()].map((s) => ({
        stage: s.stage,
        passed: true,
        reasonCode: s.reasonCode,
        durationMs: s.durationMs,
      })),
      behavioralScore: behavior
        ? {
            score: Math.min(1, Math.max(0, Number(behavior.score))),
            flagged: Number(behavior.flagged),
            critical: Number(behavior.critical),
            totalPrompts: Number(behavior.total_prompts),
          }
        : null,
      provenance: oneOf(PROVENANCE_LEVELS, r('provenance').level, 'none'),
      pin: oneOf(PIN_STATUSES, r('hash_pin').pin, 'unpinned'),
      policyDigest: view.policyDigest!,
      durationMs: Math.max(0, now.getTime() - Date.parse(started.time)),
    },
  };
}

/** The run failed a stage: `model.rejected` naming it (no decision was asked). */
export function stageRejectedEvent(view: RunView): DraftEvent<'model.rejected'> {
  if (view.next.kind !== 'reject')
    throw new IllegalStateError(`run ${view.artifactId} has no failed stage`);
  const failed = view.events.find((e) => e.type === 'quarantine.stage.failed')!
    .data as EventData<'quarantine.stage.failed'>;
  return {
    type: 'model.rejected',
    aggregateId: view.artifactId,
    data: {
      decisionId: null,
      name: view.acquired.name,
      stage: failed.stage,
      reasonCode: failed.reasonCode,
      reason: `${failed.stage} failed: ${failed.reason}`.slice(0, 512),
    },
  };
}

export interface PromotionDecision {
  id: string;
  causationId: string | undefined;
  data: EventData<'policy.decided'>;
}

/**
 * The outcome of the `model_promotion` decision that answers this run's `quarantine.completed`;
 * null when the decision is not this run's (an old run's, or a redelivered duplicate).
 */
export function decisionOutcome(
  view: RunView,
  decision: PromotionDecision,
): DraftEvent<'model.promoted'> | DraftEvent<'model.rejected'> | null {
  if (view.next.kind !== 'await_decision') return null;
  if (decision.causationId === undefined || decision.causationId !== view.completedEventId)
    return null;
  const completed = view.events.find((e) => e.type === 'quarantine.completed')!
    .data as EventData<'quarantine.completed'>;
  if (decision.data.decision === 'allow' && completed.format !== null) {
    return {
      type: 'model.promoted',
      aggregateId: view.artifactId,
      data: {
        decisionId: decision.id,
        name: view.acquired.displayName ?? view.acquired.name,
        fileName: view.acquired.name,
        format: completed.format,
        digest: view.acquired.digest,
        sizeBytes: view.acquired.sizeBytes,
        policyDigest: completed.policyDigest,
      },
    };
  }
  return {
    type: 'model.rejected',
    aggregateId: view.artifactId,
    data: {
      decisionId: decision.id,
      name: view.acquired.name,
      stage: null,
      reasonCode: decision.data.evidence.ruleId.replace(/[^a-z0-9_.-]/g, '_').slice(0, 64),
      reason: `promotion denied: ${decision.data.reason}`.slice(0, 512),
    },
  };
}

import {
  decided,
  refused,
  type Decider,
  type Decision,
  type DecisionRequestData,
  type DecisionResponseData,
  type EventData,
  type QuarantineStageName,
} from '@secai/contracts';
import {
  advanceRun,
  initialRun,
  nextStep,
  plannedStages,
  type NextStep,
  type QuarantineSnapshot,
  type RunEventType,
} from '../machine.js';
import type { SandboxedStage, StageOutcome } from '../stages/runStage.js';
import { EMPTY_REGISTRY_VIEW, type RegistryView } from './registryView.js';
import {
  LOCAL_IMPORT,
  reasonCodeOf,
  sourcePolicyRequest,
  sourceVerdict,
  type SourceVerdict,
} from '../stages/sourcePolicy.js';

// The quarantine's rules as a decider (ARCHITECTURE §4) over one `artifact/<hex>` aggregate: its
// state is a fold of the stored events (the run's machine replayed with `transition()`), a
// command carries what the edge observed (the active policy, the stage's outcome, the engine's
// answer, the clock), and the decision says which events to append and which work comes next.
// No I/O: the coordinator observes, carries out the effects and appends through the kernel.

export type ArtifactEventType = 'model.acquired' | RunEventType;

/**
 * Where an event stands in the chain of consequences. A stored event carries its `id` and `time`
 * as well; a decided one carries the causation and correlation it is to be appended with.
 */
export interface EventMeta {
  id?: string;
  time?: string;
  causationId?: string;
  correlationId?: string;
}

/** One event of an artifact aggregate: its type and data exactly as stored, and its metadata. */
export type ArtifactEvent = {
  [T in ArtifactEventType]: { type: T; data: EventData<T>; meta: EventMeta };
}[ArtifactEventType];

/** The current run: from the artifact's last `model.acquired` on. */
export interface Run {
  acquired: EventData<'model.acquired'>;
  acquiredEventId: string | null;
  machine: QuarantineSnapshot;
  /** The run's correlation id (set on `quarantine.started`), null before it started. */
  correlationId: string | null;
  startedAt: string | null;
  policyDigest: string | null;
  /** Passed stages' data, in order. */
  passed: EventData<'quarantine.stage.passed'>[];
  failed: EventData<'quarantine.stage.failed'> | null;
  completed: { id: string | null; data: EventData<'quarantine.completed'> } | null;
  /** The run's `model.promoted` event id, once promoted. */
  promotedId: string | null;
}

export interface ArtifactState {
  run: Run | null;
  /** `quarantine.started` events over every run of the artifact (a rejected one may run again). */
  attempts: number;
  /** Id of the last stored event: the causation of the next step's event. */
  lastEventId: string | null;
}

/** The policy a run is bound to, as the edge observes it now (null: none is active). */
export interface BoundPolicy {
  /** The bundle digest recorded on `quarantine.started` (see policyBundle.ts). */
  digest: string;
  /** The engine's own policy digest inside it (the `policy.loaded` digest). */
  policyDigest: string;
}

/** The engine's answer to the source question, or why there is none. */
export type EngineAnswer =
  { ok: true; response: DecisionResponseData } | { ok: false; code: string; message: string };

export interface PromotionDecision {
  id: string;
  causationId: string | undefined;
  data: EventData<'policy.decided'>;
}

export type RunCommand =
  | {
      type: 'Acquire';
      data: EventData<'model.acquired'>;
      /**
       * What the registry's stream says of the same bytes (observed at the edge): a promoted
       * artifact may run again once the registry removed the model that promotion stored.
       */
      registry?: RegistryView;
      causationId?: string;
      correlationId?: string;
    }
  | {
      /** Take the run one step: start it, ask for a stage, complete or reject it. */
      type: 'Advance';
      now: Date;
      policy: BoundPolicy | null;
      /** Whether the file starts with the GGUF magic (read only when the run starts). */
      ggufMagic: boolean;
      /** The correlation id a run started now gets. */
      newCorrelationId: string;
    }
  | { type: 'RecordStage'; stage: SandboxedStage; outcome: StageOutcome }
  | { type: 'RecordSourceDecision'; answer: EngineAnswer; policy: BoundPolicy | null }
  | { type: 'Settle'; decision: PromotionDecision };

/**
 * Work a decision hands to the edge. `discard` (delete a rejected artifact's bytes) is carried out
 * before the rejection is appended, and is safe to repeat; the others are the next step's work,
 * decided with no event: its outcome comes back as `RecordStage` / `RecordSourceDecision`.
 */
export type RunEffect =
  | { kind: 'run_stage'; stage: SandboxedStage }
  | { kind: 'ask_policy_engine'; stage: 'source_policy'; request: DecisionRequestData }
  | { kind: 'discard' };

export type RunRefusalCode =
  | 'artifact_in_quarantine'
  | 'already_promoted'
  | 'no_run'
  | 'policy_unavailable'
  | 'stage_not_expected';

export type RunDecision = Decision<ArtifactEvent, RunEffect>;

/** Isolation facts of a stage that ran no worker (the engine answered, or it failed before). */
export const NO_WORKER: EventData<'quarantine.stage.passed'>['isolation'] = {
  sandbox: 'none',
  network: 'none',
  credentialless: true,
  readOnlyArtifact: true,
  timeoutMs: 0,
  outputLimitBytes: 0,
  exitCode: null,
  signal: null,
  reapedDescendants: 0,
};

export function initialState(): ArtifactState {
  return { run: null, attempts: 0, lastEventId: null };
}

export function evolve(state: ArtifactState, event: ArtifactEvent): ArtifactState {
  const lastEventId = event.meta.id ?? state.lastEventId;
  if (event.type === 'model.acquired') {
    // A new run: an artifact rejected earlier may be imported again.
    return {
      attempts: state.attempts,
      lastEventId,
      run: {
        acquired: event.data,
        acquiredEventId: event.meta.id ?? null,
        machine: initialRun(),
        correlationId: null,
        startedAt: null,
        policyDigest: null,
        passed: [],
        failed: null,
        completed: null,
        promotedId: null,
      },
    };
  }
  const run = state.run;
  if (run === null) return { ...state, lastEventId };
  const machine = advanceRun(run.machine, event);
  // Every event the machine accepts moves it to another state; one it refused (out of order, a
  // second start) changes nothing but the cursor.
  if (machine.value === run.machine.value) return { ...state, lastEventId };
  const next: Run = { ...run, machine };
  switch (event.type) {
    case 'quarantine.started':
      next.correlationId = event.meta.correlationId ?? null;
      next.startedAt = event.meta.time ?? null;
      next.policyDigest = event.data.policyDigest;
      return { run: next, attempts: state.attempts + 1, lastEventId };
    case 'quarantine.stage.passed':
      next.passed = [...run.passed, event.data];
      break;
    case 'quarantine.stage.failed':
      next.failed = event.data;
      break;
    case 'quarantine.completed':
      next.completed = { id: event.meta.id ?? null, data: event.data };
      break;
    case 'model.promoted':
      next.promotedId = event.meta.id ?? null;
      break;
    default:
      break;
  }
  return { ...state, run: next, lastEventId };
}

export function nextOf(run: Run): NextStep {
  return nextStep(run.machine);
}

export function decide(command: RunCommand, state: ArtifactState): RunDecision {
  switch (command.type) {
    case 'Acquire':
      return acquire(command, state);
    case 'Advance':
      return advance(command, state);
    case 'RecordStage':
      return recordStage(command, state);
    case 'RecordSourceDecision':
      return recordSourceDecision(command, state);
    case 'Settle':
      return settle(command, state);
    default: {
      const never: never = command;
      return never;
    }
  }
}

/** The decider in the shape the kernel and `deciderSpec` take. */
export const runDecider: Decider<RunCommand, ArtifactEvent, ArtifactState, RunEffect> = {
  decide,
  evolve,
  initialState,
};

function acquire(c: Extract<RunCommand, { type: 'Acquire' }>, state: ArtifactState): RunDecision {
  const next = state.run ? nextOf(state.run) : null;
  if (next?.kind === 'done' && next.outcome === 'promoted' && !removedSince(state.run!, c.registry))
    return refused('already_promoted', 'the artifact was promoted already: see secai model list');
  if (next !== null && next.kind !== 'done')
    return refused(
      'artifact_in_quarantine',
      `the artifact is already in quarantine (${String(state.run!.machine.value)})`,
    );
  return decided([
    event('model.acquired', c.data, {
      ...(c.causationId !== undefined ? { causationId: c.causationId } : {}),
      ...(c.correlationId !== undefined ? { correlationId: c.correlationId } : {}),
    }),
  ]);
}

/**
 * Whether the registry removed the model this run's promotion stored: then the bytes are nowhere
 * trusted any more, and importing them again is a new run like any rejected artifact's. A
 * promotion the registry has not stored (or stored again since) stays `already_promoted`.
 */
function removedSince(run: Run, registry: RegistryView = EMPTY_REGISTRY_VIEW): boolean {
  return run.promotedId !== null && registry.removedPromotions.includes(run.promotedId);
}

function advance(c: Extract<RunCommand, { type: 'Advance' }>, state: ArtifactState): RunDecision {
  const run = state.run;
  if (run === null) return refused('no_run', 'the artifact was never acquired');
  const step = nextOf(run);
  switch (step.kind) {
    case 'start': {
      // Fail closed: no run starts without a policy to bind it to; it waits for one.
      if (c.policy === null)
        return refused('policy_unavailable', 'no policy is active: the run waits');
      const plan = planFor(run.acquired.kind, c.ggufMagic);
      return decided([
        event(
          'quarantine.started',
          { attempt: state.attempts + 1, policyDigest: c.policy.digest, plannedStages: plan },
          {
            ...causedBy(state),
            correlationId: c.newCorrelationId,
          },
        ),
      ]);
    }
    case 'run_stage': {
      const changed = policyProblem(run, c.policy);
      if (changed) return decided([stageFailed(state, step.stage, changed)]);
      if (step.stage !== 'source_policy')
        return decided([], { effects: [{ kind: 'run_stage', stage: step.stage }] });
      const url = run.acquired.source.url;
      if (url === undefined || url === '')
        return decided([stageEvent(state, 'source_policy', LOCAL_IMPORT)]);
      return decided([], {
        effects: [
          { kind: 'ask_policy_engine', stage: 'source_policy', request: sourcePolicyRequest(url) },
        ],
      });
    }
    case 'complete':
      return decided([completedEvent(state, run, c.now)]);
    case 'reject':
      return decided([stageRejectedEvent(state, run)], { effects: [{ kind: 'discard' }] });
    default:
      return decided([], { outcome: step.kind });
  }
}

function recordStage(
  c: Extract<RunCommand, { type: 'RecordStage' }>,
  state: ArtifactState,
): RunDecision {
  const expected = expectStage(state, c.stage);
  if (expected) return expected;
  const o = c.outcome;
  const common = {
    stage: c.stage,
    reasonCode: reasonCodeOf(o.reasonCode),
    result: o.result,
    durationMs: o.durationMs,
    isolation: o.isolation,
  };
  if (o.passed) return decided([event('quarantine.stage.passed', common, causedBy(state))]);
  return decided([
    event(
      'quarantine.stage.failed',
      {
        ...common,
        reason: (o.detail || o.reasonCode).slice(0, 512),
        ...(o.reasonCode.startsWith('worker_')
          ? { failureClass: reasonCodeOf(o.reasonCode.slice('worker_'.length)) }
          : {}),
      },
      causedBy(state),
    ),
  ]);
}

function recordSourceDecision(
  c: Extract<RunCommand, { type: 'RecordSourceDecision' }>,
  state: ArtifactState,
): RunDecision {
  const expected = expectStage(state, 'source_policy');
  if (expected) return expected;
  const run = state.run!;
  const changed = policyProblem(run, c.policy);
  if (changed) return decided([stageFailed(state, 'source_policy', changed)]);
  if (!c.answer.ok)
    // The engine could not be asked: deny, as every gate does (re-import to run again).
    return decided([
      stageFailed(state, 'source_policy', {
        reasonCode: 'policy_unavailable',
        reason: `the policy engine did not decide: ${c.answer.code}`,
      }),
    ]);
  const { response } = c.answer;
  if (response.evidence.policyDigest !== c.policy!.policyDigest)
    // The engine judged under another policy than the one this run is bound to.
    return decided([stageFailed(state, 'source_policy', POLICY_CHANGED)]);
  if (response.eventId === null)
    return decided([
      stageFailed(state, 'source_policy', {
        reasonCode: 'decision_not_recorded',
        reason: 'the policy engine did not record its decision',
      }),
    ]);
  const verdict = sourceVerdict({ ...response, eventId: response.eventId });
  // The stage rests on the recorded decision: the event holding it is the causation.
  return decided([
    stageEvent(state, 'source_policy', verdict, {
      causationId: response.eventId,
      correlationId: run.correlationId ?? undefined,
    }),
  ]);
}

/**
 * The outcome of the `model_promotion` decision that answers this run's `quarantine.completed`;
 * nothing when the decision is not this run's (an old run's, or a redelivered duplicate).
 */
function settle(c: Extract<RunCommand, { type: 'Settle' }>, state: ArtifactState): RunDecision {
  const run = state.run;
  if (run === null || nextOf(run).kind !== 'await_decision') return decided([]);
  const { decision } = c;
  if (decision.causationId === undefined || decision.causationId !== run.completed?.id)
    return decided([]);
  const completed = run.completed.data;
  const meta = {
    causationId: decision.id,
    ...(run.correlationId !== null ? { correlationId: run.correlationId } : {}),
  };
  if (decision.data.decision === 'allow' && completed.format !== null) {
    return decided([
      event(
        'model.promoted',
        {
          decisionId: decision.id,
          name: run.acquired.displayName ?? run.acquired.name,
          fileName: run.acquired.name,
          format: completed.format,
          digest: run.acquired.digest,
          sizeBytes: run.acquired.sizeBytes,
          policyDigest: completed.policyDigest,
        },
        meta,
      ),
    ]);
  }
  return decided(
    [
      event(
        'model.rejected',
        {
          decisionId: decision.id,
          name: run.acquired.name,
          stage: null,
          reasonCode: reasonCodeOf(decision.data.evidence.ruleId),
          reason: `promotion denied: ${decision.data.reason}`.slice(0, 512),
        },
        meta,
      ),
    ],
    { effects: [{ kind: 'discard' }] },
  );
}

/** Stages planned for an artifact: directories get the diffusion scan, GGUF files the behavioural test. */
export function planFor(kind: 'file' | 'directory', ggufMagic: boolean): QuarantineStageName[] {
  if (kind === 'directory') return plannedStages('diffusion-directory');
  return plannedStages(ggufMagic ? 'gguf' : 'safetensors');
}

const PROVENANCE_LEVELS = ['none', 'recorded', 'signature-verified', 'manifest-pinned'] as const;
const PIN_STATUSES = ['pinned', 'first_use', 'unpinned', 'mismatch', 'blocked'] as const;
const FORMATS = ['gguf', 'safetensors', 'diffusion-directory'] as const;

function oneOf<T extends string>(values: readonly T[], value: unknown, fallback: T): T {
  return values.includes(value as T) ? (value as T) : fallback;
}

/** `quarantine.completed` once every planned stage passed: the whole result for the policy engine. */
function completedEvent(state: ArtifactState, run: Run, now: Date): ArtifactEvent {
  const results = new Map(run.passed.map((s) => [s.stage, s]));
  const r = (stage: QuarantineStageName) => results.get(stage)?.result ?? {};
  const behavior = results.get('behavioral_test')?.result;
  const signer = r('provenance').signer;
  const startedAt = run.startedAt === null ? now.getTime() : Date.parse(run.startedAt);
  return event(
    'quarantine.completed',
    {
      passed: true,
      reasonCode: 'all_stages_passed',
      format:
        run.acquired.kind === 'directory'
          ? 'diffusion-directory'
          : oneOf(FORMATS, r('format_gate').format, 'safetensors'),
      sizeBytes: run.acquired.sizeBytes,
      signer: typeof signer === 'string' && signer !== '' ? signer.slice(0, 256) : null,
      failedStage: null,
      stages: run.passed.map((s) => ({
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
      policyDigest: run.policyDigest!,
      durationMs: Math.max(0, now.getTime() - startedAt),
    },
    causedBy(state),
  );
}

/** The run failed a stage: `model.rejected` naming it (no decision was asked). */
function stageRejectedEvent(state: ArtifactState, run: Run): ArtifactEvent {
  const failed = run.failed!;
  return event(
    'model.rejected',
    {
      decisionId: null,
      name: run.acquired.name,
      stage: failed.stage,
      reasonCode: failed.reasonCode,
      reason: `${failed.stage} failed: ${failed.reason}`.slice(0, 512),
    },
    causedBy(state),
  );
}

const POLICY_CHANGED = {
  reasonCode: 'policy_changed',
  reason: 'the policy changed during the run; import the artifact again',
};

/**
 * The run is bound to the policy it started with; judging its remaining stages by other rules
 * would mix two policies in one result. Fail closed: re-import to run again.
 */
function policyProblem(
  run: Run,
  policy: BoundPolicy | null,
): { reasonCode: string; reason: string } | null {
  if (policy === null) return { reasonCode: 'policy_unavailable', reason: 'no policy is active' };
  if (policy.digest !== run.policyDigest) return POLICY_CHANGED;
  return null;
}

function expectStage(state: ArtifactState, stage: QuarantineStageName): RunDecision | null {
  const step = state.run ? nextOf(state.run) : null;
  if (step?.kind === 'run_stage' && step.stage === stage) return null;
  // Another writer recorded this stage (or ended the run) meanwhile: nothing to add.
  return refused(
    'stage_not_expected',
    `stage ${stage} is not expected now (next: ${step === null ? 'no run' : step.kind === 'run_stage' ? step.stage : step.kind})`,
  );
}

function stageEvent(
  state: ArtifactState,
  stage: QuarantineStageName,
  v: SourceVerdict,
  meta: { causationId?: string | undefined; correlationId?: string | undefined } = causedBy(state),
): ArtifactEvent {
  const common = {
    stage,
    reasonCode: v.reasonCode,
    result: v.result,
    durationMs: 0,
    isolation: NO_WORKER,
  };
  return v.passed
    ? event('quarantine.stage.passed', common, meta)
    : event('quarantine.stage.failed', { ...common, reason: v.detail || v.reasonCode }, meta);
}

function stageFailed(
  state: ArtifactState,
  stage: QuarantineStageName,
  f: { reasonCode: string; reason: string },
): ArtifactEvent {
  return event(
    'quarantine.stage.failed',
    {
      stage,
      reasonCode: f.reasonCode,
      reason: f.reason,
      result: {},
      durationMs: 0,
      isolation: NO_WORKER,
    },
    causedBy(state),
  );
}

/** The default chain: caused by the aggregate's last event, correlated with the run. */
function causedBy(state: ArtifactState): { causationId?: string; correlationId?: string } {
  const correlation = state.run?.correlationId ?? state.run?.acquiredEventId ?? null;
  return {
    ...(state.lastEventId !== null ? { causationId: state.lastEventId } : {}),
    ...(correlation !== null ? { correlationId: correlation } : {}),
  };
}

function event<T extends ArtifactEventType>(
  type: T,
  data: EventData<T>,
  meta: { causationId?: string | undefined; correlationId?: string | undefined },
): ArtifactEvent {
  const clean: EventMeta = {};
  if (meta.causationId !== undefined) clean.causationId = meta.causationId;
  if (meta.correlationId !== undefined) clean.correlationId = meta.correlationId;
  return { type, data, meta: clean } as ArtifactEvent;
}

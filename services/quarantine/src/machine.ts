import { assign, initialTransition, setup, transition, type SnapshotFrom } from 'xstate';
import { IllegalStateError, QUARANTINE_STAGES, type QuarantineStageName } from '@secai/contracts';

/**
 * The quarantine run of one artifact as an xstate v5 machine: one state per stage, in the order
 * the run planned them, then the promotion decision. It is driven by the very events that are
 * stored (`quarantine.started`, `quarantine.stage.passed|failed`, `quarantine.completed`,
 * `model.promoted|rejected`), so its state after a restart is recovered by replaying them with the
 * pure `transition()`: no stored snapshot is trusted, no stage runs twice, none is skipped.
 */
export type QuarantineMachineEvent =
  | {
      type: 'quarantine.started';
      plannedStages: readonly QuarantineStageName[];
      policyDigest: string;
    }
  | { type: 'quarantine.stage.passed'; stage: QuarantineStageName }
  | { type: 'quarantine.stage.failed'; stage: QuarantineStageName; reasonCode: string }
  | { type: 'quarantine.completed' }
  | { type: 'model.promoted' }
  | { type: 'model.rejected' };

export interface QuarantineContext {
  planned: readonly QuarantineStageName[];
  passed: readonly QuarantineStageName[];
  failed: { stage: QuarantineStageName; reasonCode: string } | null;
  policyDigest: string | null;
}

/** State name of each stage (PascalCase, as the machine's states are named). */
export const STAGE_STATES: Readonly<Record<QuarantineStageName, string>> = {
  source_policy: 'SourcePolicy',
  format_gate: 'FormatGate',
  hash_pin: 'HashPin',
  provenance: 'Provenance',
  static_scan: 'StaticScan',
  behavioral_test: 'BehavioralTest',
  diffusion_scan: 'DiffusionScan',
};

const nextPlanned = (ctx: QuarantineContext): QuarantineStageName | null =>
  ctx.planned.find((s) => !ctx.passed.includes(s)) ?? null;

interface GuardArgs {
  context: QuarantineContext;
  event: QuarantineMachineEvent;
}

/** `stage` passed, and the context says where the run goes from there. */
const passedWhen =
  (stage: QuarantineStageName, then: (ctx: QuarantineContext) => boolean) =>
  ({ context, event }: GuardArgs): boolean =>
    event.type === 'quarantine.stage.passed' && event.stage === stage && then(context);

const stageStates = Object.fromEntries(
  QUARANTINE_STAGES.map((stage) => [
    STAGE_STATES[stage],
    {
      on: {
        'quarantine.stage.passed': [
          // The last planned stage passed: the run is complete once `quarantine.completed` says so.
          {
            guard: passedWhen(stage, (ctx) => ctx.planned.at(-1) === stage),
            target: 'Completing',
            actions: 'recordPassed' as const,
          },
          ...QUARANTINE_STAGES.map((next) => ({
            guard: passedWhen(stage, (ctx) => ctx.planned[ctx.planned.indexOf(stage) + 1] === next),
            target: STAGE_STATES[next],
            actions: 'recordPassed' as const,
          })),
        ],
        'quarantine.stage.failed': {
          guard: ({ event }: { event: QuarantineMachineEvent }) =>
            event.type === 'quarantine.stage.failed' && event.stage === stage,
          target: 'Failed',
          actions: 'recordFailed' as const,
        },
      },
    },
  ]),
);

export const quarantineMachine = setup({
  types: {
    context: {} as QuarantineContext,
    events: {} as QuarantineMachineEvent,
  },
  actions: {
    recordPassed: assign({
      passed: ({ context, event }) =>
        event.type === 'quarantine.stage.passed'
          ? [...context.passed, event.stage]
          : context.passed,
    }),
    recordFailed: assign({
      failed: ({ context, event }) =>
        event.type === 'quarantine.stage.failed'
          ? { stage: event.stage, reasonCode: event.reasonCode }
          : context.failed,
    }),
  },
}).createMachine({
  id: 'quarantine',
  initial: 'Acquired',
  context: { planned: [], passed: [], failed: null, policyDigest: null },
  states: {
    Acquired: {
      on: {
        'quarantine.started': {
          target: 'Starting',
          actions: assign({
            planned: ({ event }) => [...event.plannedStages],
            policyDigest: ({ event }) => event.policyDigest,
          }),
        },
      },
    },
    // Moves to the first planned stage's state.
    Starting: {
      always: QUARANTINE_STAGES.map((stage) => ({
        guard: ({ context }: { context: QuarantineContext }) => context.planned[0] === stage,
        target: STAGE_STATES[stage],
      })),
    },
    ...stageStates,
    Completing: { on: { 'quarantine.completed': 'AwaitingDecision' } },
    AwaitingDecision: { on: { 'model.promoted': 'Promoted', 'model.rejected': 'Rejected' } },
    Failed: { on: { 'model.rejected': 'Rejected' } },
    Promoted: { type: 'final' },
    Rejected: { type: 'final' },
  },
});

export type QuarantineSnapshot = SnapshotFrom<typeof quarantineMachine>;

/** The machine's state after the stored events, recomputed with the pure transition function. */
export function replayRun(events: readonly QuarantineMachineEvent[]): QuarantineSnapshot {
  let [snapshot] = initialTransition(quarantineMachine);
  for (const event of events) [snapshot] = transition(quarantineMachine, snapshot, event);
  return snapshot;
}

/** What the quarantine service must do next for this run. */
export type NextStep =
  | { kind: 'start' }
  | { kind: 'run_stage'; stage: QuarantineStageName }
  | { kind: 'complete' }
  | { kind: 'await_decision' }
  | { kind: 'reject'; stage: QuarantineStageName; reasonCode: string }
  | { kind: 'done'; outcome: 'promoted' | 'rejected' };

export function nextStep(snapshot: QuarantineSnapshot): NextStep {
  const value = snapshot.value as string;
  const ctx = snapshot.context;
  if (value === 'Acquired') return { kind: 'start' };
  if (value === 'Completing') return { kind: 'complete' };
  if (value === 'AwaitingDecision') return { kind: 'await_decision' };
  if (value === 'Failed')
    return { kind: 'reject', stage: ctx.failed!.stage, reasonCode: ctx.failed!.reasonCode };
  if (value === 'Promoted') return { kind: 'done', outcome: 'promoted' };
  if (value === 'Rejected') return { kind: 'done', outcome: 'rejected' };
  const stage = nextPlanned(ctx);
  if (stage === null) throw new IllegalStateError(`run in ${value} has no stage left to run`);
  return { kind: 'run_stage', stage };
}

/**
 * Refuses a stage result the run does not expect now (a stage out of order, twice, or after the
 * run ended): the caller must not record it.
 */
export function assertStageExpected(
  snapshot: QuarantineSnapshot,
  stage: QuarantineStageName,
): void {
  const step = nextStep(snapshot);
  if (step.kind !== 'run_stage' || step.stage !== stage) {
    throw new IllegalStateError(
      `stage ${stage} is not expected now (next: ${step.kind === 'run_stage' ? step.stage : step.kind})`,
    );
  }
}

/** Stages a run plans for an artifact: the five common ones, then the kind-specific one. */
export function plannedStages(
  kind: 'gguf' | 'safetensors' | 'diffusion-directory',
): QuarantineStageName[] {
  const common: QuarantineStageName[] = [
    'source_policy',
    'format_gate',
    'hash_pin',
    'provenance',
    'static_scan',
  ];
  if (kind === 'gguf') return [...common, 'behavioral_test'];
  if (kind === 'diffusion-directory') return [...common, 'diffusion_scan'];
  return common;
}

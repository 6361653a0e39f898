import { assign, initialTransition, setup, transition, type SnapshotFrom } from 'xstate';
import {
  IllegalStateError,
  QUARANTINE_STAGES,
  type EventData,
  type QuarantineStageName,
} from '@secai/contracts';

/**
 * The quarantine run of one artifact as an xstate v5 machine: one state per stage, named as the
 * stage is (`source_policy`, `format_gate`, ...), in the order the run planned them, then the
 * promotion decision. Its events are the stored events themselves (`quarantine.started`,
 * `quarantine.stage.passed|failed`, `quarantine.completed`, `model.promoted|rejected`, with their
 * `data` as stored), so its state after a restart is recovered by replaying them with the pure
 * `transition()`: no stored snapshot is trusted, no stage runs twice, none is skipped. States
 * are snake_case, as every machine's in the house (the incident machine's are statuses users
 * see).
 */
export const RUN_EVENT_TYPES = [
  'quarantine.started',
  'quarantine.stage.passed',
  'quarantine.stage.failed',
  'quarantine.completed',
  'model.promoted',
  'model.rejected',
] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

/** A stored event of a run, as the machine reads it: its type and its data. */
export type RunMachineEvent = {
  [T in RunEventType]: { type: T; data: EventData<T> };
}[RunEventType];

export interface QuarantineContext {
  planned: readonly QuarantineStageName[];
  passed: readonly QuarantineStageName[];
  failed: { stage: QuarantineStageName; reasonCode: string } | null;
  policyDigest: string | null;
}

export type RunStateName =
  | 'acquired'
  | 'starting'
  | QuarantineStageName
  | 'completing'
  | 'awaiting_decision'
  | 'failed'
  | 'promoted'
  | 'rejected';

interface GuardArgs {
  context: QuarantineContext;
  event: RunMachineEvent;
}

/** `stage` passed, and the context says where the run goes from there. */
const passedWhen =
  (stage: QuarantineStageName, then: (ctx: QuarantineContext) => boolean) =>
  ({ context, event }: GuardArgs): boolean =>
    event.type === 'quarantine.stage.passed' && event.data.stage === stage && then(context);

const stageStates = Object.fromEntries(
  QUARANTINE_STAGES.map((stage) => [
    stage,
    {
      on: {
        'quarantine.stage.passed': [
          // The last planned stage passed: the run is complete once `quarantine.completed` says so.
          {
            guard: passedWhen(stage, (ctx) => ctx.planned.at(-1) === stage),
            target: 'completing',
            actions: 'recordPassed' as const,
          },
          ...QUARANTINE_STAGES.map((next) => ({
            guard: passedWhen(stage, (ctx) => ctx.planned[ctx.planned.indexOf(stage) + 1] === next),
            target: next,
            actions: 'recordPassed' as const,
          })),
        ],
        'quarantine.stage.failed': {
          guard: ({ event }: GuardArgs) =>
            event.type === 'quarantine.stage.failed' && event.data.stage === stage,
          target: 'failed',
          actions: 'recordFailed' as const,
        },
      },
    },
  ]),
);

export const quarantineMachine = setup({
  types: {
    context: {} as QuarantineContext,
    events: {} as RunMachineEvent,
  },
  actions: {
    recordPassed: assign({
      passed: ({ context, event }) =>
        event.type === 'quarantine.stage.passed'
          ? [...context.passed, event.data.stage]
          : context.passed,
    }),
    recordFailed: assign({
      failed: ({ context, event }) =>
        event.type === 'quarantine.stage.failed'
          ? { stage: event.data.stage, reasonCode: event.data.reasonCode }
          : context.failed,
    }),
  },
}).createMachine({
  id: 'quarantine',
  initial: 'acquired',
  context: { planned: [], passed: [], failed: null, policyDigest: null },
  states: {
    acquired: {
      on: {
        'quarantine.started': {
          target: 'starting',
          actions: assign({
            planned: ({ event }) => [...event.data.plannedStages],
            policyDigest: ({ event }) => event.data.policyDigest,
          }),
        },
      },
    },
    // Moves to the first planned stage's state.
    starting: {
      always: QUARANTINE_STAGES.map((stage) => ({
        guard: ({ context }: { context: QuarantineContext }) => context.planned[0] === stage,
        target: stage,
      })),
    },
    ...stageStates,
    completing: { on: { 'quarantine.completed': 'awaiting_decision' } },
    awaiting_decision: { on: { 'model.promoted': 'promoted', 'model.rejected': 'rejected' } },
    failed: { on: { 'model.rejected': 'rejected' } },
    promoted: { type: 'final' },
    rejected: { type: 'final' },
  },
});

export type QuarantineSnapshot = SnapshotFrom<typeof quarantineMachine>;

export function isRunEventType(type: string): type is RunEventType {
  return (RUN_EVENT_TYPES as readonly string[]).includes(type);
}

export function initialRun(): QuarantineSnapshot {
  return initialTransition(quarantineMachine)[0];
}

/** One stored event applied with the pure transition function (an unexpected one changes nothing). */
export function advanceRun(
  snapshot: QuarantineSnapshot,
  event: RunMachineEvent,
): QuarantineSnapshot {
  return transition(quarantineMachine, snapshot, event)[0];
}

/** The machine's state after the stored events, recomputed with the pure transition function. */
export function replayRun(events: readonly RunMachineEvent[]): QuarantineSnapshot {
  return events.reduce(advanceRun, initialRun());
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
  const value = snapshot.value as RunStateName;
  const ctx = snapshot.context;
  switch (value) {
    case 'acquired':
      return { kind: 'start' };
    case 'completing':
      return { kind: 'complete' };
    case 'awaiting_decision':
      return { kind: 'await_decision' };
    case 'failed':
      return { kind: 'reject', stage: ctx.failed!.stage, reasonCode: ctx.failed!.reasonCode };
    case 'promoted':
      return { kind: 'done', outcome: 'promoted' };
    case 'rejected':
      return { kind: 'done', outcome: 'rejected' };
    default: {
      const stage = ctx.planned.find((s) => !ctx.passed.includes(s));
      if (stage === undefined) throw new IllegalStateError(`run in ${value} has no stage left`);
      return { kind: 'run_stage', stage };
    }
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

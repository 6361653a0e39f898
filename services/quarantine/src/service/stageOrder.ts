import type { QuarantineStageName } from '@secai/contracts';
import type { NextStep } from '../machine.js';
import type { SandboxedStage } from '../stages/runStage.js';

// Which stages of a run may run beside each other, and what becomes of the outcomes of stages
// started ahead of their turn (pure; service/stagesAhead.ts holds the workers). The run itself is
// unchanged: its events are recorded in plan order by the run decider, the first failure in plan
// order decides the outcome, and an outcome computed ahead is either recorded when the run asks
// for its stage or discarded, never recorded out of turn.

/**
 * Stages that only read the read-only snapshot in their own sandbox and decide from it alone, so
 * one may run while an earlier one has not answered yet: a later stage then reads bytes an earlier
 * gate might still refuse, inside the same sandbox it would have read them in anyway. The
 * behavioural test (loads the model, minutes of CPU) and the diffusion scan are not among them:
 * they start only once every earlier stage passed.
 */
export const READ_ONLY_STAGES: readonly SandboxedStage[] = [
  'format_gate',
  'hash_pin',
  'provenance',
  'static_scan',
];

const readOnly = (stage: QuarantineStageName): stage is SandboxedStage =>
  (READ_ONLY_STAGES as readonly string[]).includes(stage);

/**
 * The stages to start when the run asks for `asked`: `asked` itself, and if it is a read-only
 * stage, the read-only stages that follow it without a gap in the plan (not past a stage of
 * another kind). In plan order.
 */
export function stagesToStart(
  plan: readonly QuarantineStageName[],
  asked: SandboxedStage,
): SandboxedStage[] {
  const at = plan.indexOf(asked);
  if (at < 0 || !readOnly(asked)) return [asked];
  const stretch: SandboxedStage[] = [];
  for (const stage of plan.slice(at)) {
    if (!readOnly(stage)) break;
    stretch.push(stage);
  }
  return stretch;
}

/** What the held outcomes (started, not yet recorded) become at the run's next step. */
export interface HeldSorting {
  /** The held stage the run asks for now: its outcome is the one to record. */
  take: SandboxedStage | null;
  /** Held stages planned after the one asked now: kept for their turn. */
  keep: SandboxedStage[];
  /** Everything else: the run failed, ended, changed, or went past them. Never recorded. */
  discard: SandboxedStage[];
}

/**
 * Sorts the held stages at the run's next step. Only a stage the run asks for now may be taken,
 * and only stages planned after it kept: when an earlier stage failed (`reject`), the policy
 * changed (a stage failed without a worker), the run completed or ended, or the outcomes were
 * computed for another run or under another bundle (`sameRun` false), every held outcome is
 * discarded.
 */
export function sortHeld(
  plan: readonly QuarantineStageName[],
  held: readonly SandboxedStage[],
  step: NextStep,
  sameRun: boolean,
): HeldSorting {
  if (!sameRun || step.kind !== 'run_stage') return { take: null, keep: [], discard: [...held] };
  const at = plan.indexOf(step.stage);
  const take = held.find((s) => s === step.stage) ?? null;
  const keep = held.filter((s) => s !== step.stage && at >= 0 && plan.indexOf(s) > at);
  return { take, keep, discard: held.filter((s) => s !== take && !keep.includes(s)) };
}

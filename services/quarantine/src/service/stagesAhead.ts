import type { QuarantineStageName } from '@secai/contracts';
import type { SandboxedStage, StageOutcome } from '../stages/runStage.js';
import { sortHeld, stagesToStart } from './stageOrder.js';
import { sandboxedStages, type StageContext, type StageExecutor } from './stages.js';

/** The run and bundle an outcome was computed for: one computed for others is never taken. */
const keyOf = (ctx: StageContext): string =>
  JSON.stringify([ctx.run.correlationId, ctx.run.acquired.digest, ctx.bundle.digest]);

/**
 * The workers of one run's stages, started ahead of their turn. When the run asks for a
 * read-only stage, that stage and the read-only stages planned right after it start at once
 * (`stagesToStart`), each in its own sandboxed worker; the run still takes their outcomes one at
 * a time, in plan order, when its decider asks for each stage. An outcome the run never asks for
 * (an earlier stage failed, the policy changed, the run ended) is discarded, never returned;
 * `close` waits for those workers to end, so a run's workers never outlive it.
 *
 * Only the order of waiting changes: with the stages of a 1 GiB file the three short ones (worker
 * start-up, mostly) overlap the static scan instead of preceding it.
 */
export class StagesAhead {
  readonly #execute: StageExecutor;
  readonly #held = new Map<SandboxedStage, Promise<StageOutcome>>();
  /** Workers whose outcome was discarded and that may still run. */
  readonly #discarded = new Set<Promise<unknown>>();
  #key: string | null = null;

  constructor(execute: StageExecutor) {
    this.#execute = execute;
  }

  /** Stages started and not yet taken (tests, logs). */
  get held(): SandboxedStage[] {
    return [...this.#held.keys()];
  }

  /**
   * The outcome of `stage`, which the run asks for now: the one already started for this run
   * and bundle, else a worker started now (with the read-only stages after it in `plan`).
   * Whatever else is held and not planned after `stage` is discarded.
   */
  take(
    stage: SandboxedStage,
    plan: readonly QuarantineStageName[],
    ctx: StageContext,
  ): Promise<StageOutcome> {
    const key = keyOf(ctx);
    const sorting = sortHeld(plan, this.held, { kind: 'run_stage', stage }, key === this.#key);
    for (const s of sorting.discard) this.#drop(s);
    this.#key = key;
    for (const s of stagesToStart(plan, stage)) if (!this.#held.has(s)) this.#start(s, ctx);
    const outcome = this.#held.get(stage)!;
    this.#held.delete(stage);
    return outcome;
  }

  /** Discards every held outcome and waits until their workers have ended. */
  async close(): Promise<void> {
    for (const s of this.held) this.#drop(s);
    this.#key = null;
    await Promise.allSettled([...this.#discarded]);
  }

  #start(stage: SandboxedStage, ctx: StageContext): void {
    const outcome = this.#execute(stage, ctx);
    // Awaited later, or never (discarded): a rejection must not go unhandled meanwhile.
    outcome.catch(() => undefined);
    this.#held.set(stage, outcome);
  }

  #drop(stage: SandboxedStage): void {
    const outcome = this.#held.get(stage);
    this.#held.delete(stage);
    if (outcome === undefined) return;
    const ended = outcome.then(
      () => undefined,
      () => undefined,
    );
    this.#discarded.add(ended);
    void ended.then(() => this.#discarded.delete(ended));
  }
}

/** One stage's outcome, as a run records it. */
export interface RecordedStage {
  stage: SandboxedStage;
  outcome: StageOutcome;
}

/**
 * Runs `stages` (a run's plan, or the stretch of it that a caller measures) the way the
 * coordinator does: read-only stages beside each other, their outcomes taken in plan order up to
 * and including the first failure; whatever was computed after that failure is discarded (its
 * workers are waited for). Resolves with what a run would record.
 */
export async function runStagesInPlanOrder(
  stages: readonly SandboxedStage[],
  ctx: StageContext,
  execute: StageExecutor = sandboxedStages,
): Promise<RecordedStage[]> {
  const ahead = new StagesAhead(execute);
  const recorded: RecordedStage[] = [];
  try {
    for (const stage of stages) {
      const outcome = await ahead.take(stage, stages, ctx);
      recorded.push({ stage, outcome });
      if (!outcome.passed) break;
    }
  } finally {
    await ahead.close();
  }
  return recorded;
}

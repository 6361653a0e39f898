import { open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConcurrencyError,
  newEventId,
  type DraftEvent,
  type QuarantineStageName,
} from '@secai/contracts';
import {
  readHistory,
  type EventStore,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
} from '@secai/streams';
import { removeTree } from '../intake/snapshot.js';
import type { PolicyBundle } from './policyBundle.js';
import {
  completedEvent,
  decisionOutcome,
  planFor,
  stageRejectedEvent,
  startedEvent,
  viewRun,
  type PromotionDecision,
  type RunView,
} from './run.js';
import { signatureOf, type StageExecutor } from './stages.js';

export interface CoordinatorDeps {
  store: EventStore;
  log: Logger;
  quarantineDir: string;
  /** The current policy bundle, or null when none is valid (then no stage runs: fail closed). */
  bundle: () => PolicyBundle | null;
  executeStage: StageExecutor;
  behaviorThreads: number;
  now?: () => Date;
}

/**
 * Drives quarantine runs from their events. For one artifact it loads the aggregate, replays the
 * machine (`viewRun`), does the one next step (start, run a stage, complete, reject) and appends
 * its event with the aggregate's expected sequence, then repeats; it stops when the run waits for
 * the promotion decision or has ended. Because every step is decided from the stored events, a
 * restart resumes exactly where the last appended event left the run: a stage whose event was
 * stored never runs again, a stage without one runs (again, if it was cut off mid-way).
 *
 * Runs execute one at a time (stages are CPU- and memory-heavy); artifacts queue in order.
 */
export class Coordinator {
  readonly #deps: CoordinatorDeps;
  readonly #now: () => Date;
  /** Run correlation id → artifact id, so a promotion decision finds its run. */
  readonly #runs = new Map<string, string>();
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  #draining: Promise<void> | null = null;
  #idleWaiters: (() => void)[] = [];
  #stopped = false;

  constructor(deps: CoordinatorDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Artifacts with an open run in the stream (acquired, not yet promoted or rejected). */
  async openRuns(js: JetStreamClient, jsm: JetStreamManager): Promise<string[]> {
    const last = new Map<string, string>();
    for await (const entry of readHistory(js, jsm, this.#deps.store.stream, {
      filterSubject: 'secai.evt.artifact.>',
    })) {
      if (
        entry.type === 'model.acquired' ||
        entry.type === 'model.promoted' ||
        entry.type === 'model.rejected'
      )
        last.set(entry.subject.split('.').at(-1)!, entry.type);
    }
    return [...last].filter(([, type]) => type === 'model.acquired').map(([id]) => id);
  }

  /** Re-reads every open run (restoring its correlation) and queues it. */
  async resume(js: JetStreamClient, jsm: JetStreamManager): Promise<number> {
    const open = await this.openRuns(js, jsm);
    for (const id of open) {
      const view = await this.#view(id);
      if (view?.correlationId) this.#runs.set(view.correlationId, id);
      this.enqueue(id);
    }
    return open.length;
  }

  enqueue(artifactId: string): void {
    if (this.#stopped || this.#queued.has(artifactId)) return;
    this.#queued.add(artifactId);
    this.#queue.push(artifactId);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
      for (const w of this.#idleWaiters.splice(0)) w();
    });
  }

  /** Resolves once the queue is empty (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#draining === null) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    await this.idle();
  }

  async #drain(): Promise<void> {
    for (let id = this.#queue.shift(); id !== undefined; id = this.#queue.shift()) {
      this.#queued.delete(id);
      try {
        await this.drive(id);
      } catch (err) {
        // A bus or store failure: the run stays open in the stream and resumes on the next start.
        this.#deps.log.error({ err, artifact: id }, 'quarantine run interrupted');
      }
    }
  }

  async #view(artifactId: string): Promise<(RunView & { lastSequence: number }) | null> {
    const { events, lastSequence } = await this.#deps.store.load('artifact', artifactId);
    const view = viewRun(
      artifactId,
      events.map((e) => e.event),
    );
    return view ? { ...view, lastSequence } : null;
  }

  /** Takes the run of one artifact as far as it can go now. */
  async drive(artifactId: string): Promise<void> {
    const { log } = this.#deps;
    while (!this.#stopped) {
      const view = await this.#view(artifactId);
      if (!view) return;
      const step = view.next;
      try {
        switch (step.kind) {
          case 'start': {
            const bundle = this.#deps.bundle();
            if (!bundle) {
              log.error({ artifact: artifactId }, 'no valid policy bundle: quarantine waits');
              return;
            }
            const correlationId = newEventId(this.#now());
            this.#runs.set(correlationId, artifactId);
            const plan = planFor(
              view.acquired.kind,
              view.acquired.kind === 'file' && (await hasGgufMagic(this.#path(view))),
            );
            await this.#append(view, startedEvent(view, plan, bundle.digest), correlationId);
            break;
          }
          case 'run_stage':
            await this.#runStage(view, step.stage);
            break;
          case 'complete':
            await this.#append(view, completedEvent(view, this.#now()));
            log.info({ artifact: artifactId }, 'quarantine passed: promotion decision requested');
            break;
          case 'reject':
            await this.#append(view, stageRejectedEvent(view));
            await this.#discard(artifactId);
            log.warn(
              { artifact: artifactId, stage: step.stage, reason: step.reasonCode },
              'model rejected',
            );
            return;
          default:
            return; // awaiting the decision, or done
        }
      } catch (err) {
        if (err instanceof ConcurrencyError) continue; // someone appended: re-read and re-decide
        throw err;
      }
    }
  }

  async #runStage(
    view: RunView & { lastSequence: number },
    stage: QuarantineStageName,
  ): Promise<void> {
    const bundle = this.#deps.bundle();
    const started = Date.now();
    let draft: DraftEvent<'quarantine.stage.passed'> | DraftEvent<'quarantine.stage.failed'>;
    if (!bundle || bundle.digest !== view.policyDigest) {
      // The run is bound to the bundle it started with; judging its remaining stages by other
      // rules would mix two policies in one result. Fail closed: re-import to run again.
      draft = failedDraft(view.artifactId, stage, {
        reasonCode: bundle ? 'policy_changed' : 'policy_unavailable',
        reason: bundle
          ? 'the policy bundle changed during the run; import the artifact again'
          : 'no valid policy bundle is loaded',
        durationMs: 0,
      });
    } else {
      const path = this.#path(view);
      const artifact = {
        path,
        kind: view.acquired.kind,
        signaturePath: await signatureOf(
          this.#deps.quarantineDir,
          view.artifactId,
          path,
          view.acquired.kind,
        ),
      };
      const outcome = await this.#deps.executeStage(stage, {
        view,
        artifact,
        bundle,
        behaviorThreads: this.#deps.behaviorThreads,
      });
      const common = {
        stage,
        reasonCode: reasonCode(outcome.reasonCode),
        result: outcome.result,
        durationMs: outcome.durationMs,
        isolation: outcome.isolation,
      };
      draft = outcome.passed
        ? { type: 'quarantine.stage.passed', aggregateId: view.artifactId, data: common }
        : {
            type: 'quarantine.stage.failed',
            aggregateId: view.artifactId,
            data: {
              ...common,
              reason: (outcome.detail || outcome.reasonCode).slice(0, 512),
              ...(outcome.reasonCode.startsWith('worker_')
                ? { failureClass: reasonCode(outcome.reasonCode.slice('worker_'.length)) }
                : {}),
            },
          };
    }
    await this.#append(view, draft);
    this.#deps.log.info(
      {
        artifact: view.artifactId,
        stage,
        passed: draft.type === 'quarantine.stage.passed',
        ms: Date.now() - started,
      },
      'stage finished',
    );
  }

  /** A `model_promotion` decision: settles the run whose `quarantine.completed` it answers. */
  async onDecision(decision: PromotionDecision, correlationId: string): Promise<void> {
    const artifactId = this.#runs.get(correlationId);
    if (artifactId === undefined) return; // not a run of ours (or an old run's duplicate)
    const view = await this.#view(artifactId);
    if (!view) return;
    const outcome = decisionOutcome(view, decision);
    if (!outcome) return;
    await this.#deps.store.append([outcome], {
      expectedSequence: view.lastSequence,
      causationId: decision.id,
      correlationId,
    });
    this.#runs.delete(correlationId);
    if (outcome.type === 'model.rejected') await this.#discard(artifactId);
    this.#deps.log.info(
      { artifact: artifactId, outcome: outcome.type, decision: decision.data.decision },
      'promotion decided',
    );
  }

  #path(view: RunView): string {
    return join(this.#deps.quarantineDir, 'artifacts', view.artifactId, view.acquired.name);
  }

  async #append(
    view: RunView & { lastSequence: number },
    draft: DraftEvent,
    correlationId?: string,
  ): Promise<void> {
    const last = view.events.at(-1)!;
    await this.#deps.store.append([draft], {
      expectedSequence: view.lastSequence,
      causationId: last.id,
      correlationId: correlationId ?? view.correlationId ?? view.acquiredEventId,
    });
  }

  /** A rejected artifact's bytes are deleted (and its signature); its events remain. */
  async #discard(artifactId: string): Promise<void> {
    await removeTree(join(this.#deps.quarantineDir, 'artifacts', artifactId));
    await removeTree(join(this.#deps.quarantineDir, 'signatures', `${artifactId}.sigstore.json`));
  }
}

function failedDraft(
  artifactId: string,
  stage: QuarantineStageName,
  f: { reasonCode: string; reason: string; durationMs: number },
): DraftEvent<'quarantine.stage.failed'> {
  return {
    type: 'quarantine.stage.failed',
    aggregateId: artifactId,
    data: {
      stage,
      reasonCode: f.reasonCode,
      reason: f.reason,
      result: {},
      durationMs: f.durationMs,
      isolation: {
        sandbox: 'none',
        network: 'none',
        credentialless: true,
        readOnlyArtifact: true,
        timeoutMs: 0,
        outputLimitBytes: 0,
        exitCode: null,
        signal: null,
        reapedDescendants: 0,
      },
    },
  };
}

/** A reason code as the contracts allow it (lowercase token). */
function reasonCode(code: string): string {
  const c = code
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '_')
    .slice(0, 64);
  return /^[a-z]/.test(c) ? c : `r_${c}`.slice(0, 64);
}

/** Only the first four bytes of the untrusted file are read here: the plan needs the format family. */
async function hasGgufMagic(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.toString('latin1') === 'GGUF';
  } finally {
    await fh.close();
  }
}

import { watch, type FSWatcher } from 'node:fs';
import type { EventStore, Logger } from '@secai/streams';
import type { PolicyEngine } from './engine.js';
import { loadPolicyDir, type PolicyProblem } from './policy/index.js';

export type LoadTrigger = 'startup' | 'reload' | 'file_change' | 'signal' | 'api' | 'command';

export type ReloadResult =
  | { ok: true; digest: string; changed: boolean }
  | { ok: false; problems: PolicyProblem[]; activeDigest: string | null };

/**
 * Loads the policy directory into the engine and records every attempt: `policy.loaded` (with
 * the documents, so decisions can be re-derived from the stream) or `policy.load.failed` (with
 * key paths), keeping the previous policy on failure. Reloads are serialised, so a reload racing
 * decisions swaps the snapshot atomically between two of them.
 */
export class PolicyHost {
  #queue: Promise<unknown> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: PolicyEngine,
    private readonly store: EventStore | null,
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  reload(trigger: LoadTrigger): Promise<ReloadResult> {
    const run = this.#queue.then(() => this.#load(trigger));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Reloads on any change in the policy directory (debounced: editors write in several steps). */
  watch(): void {
    this.#watcher = watch(this.dir, () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(
        () =>
          void this.reload('file_change').catch((err: unknown) =>
            this.log.error({ err }, 'reload failed'),
          ),
        200,
      );
    });
    this.#watcher.on('error', (err) =>
      this.log.error({ err }, 'watching the policy directory failed'),
    );
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
  }

  async #load(trigger: LoadTrigger): Promise<ReloadResult> {
    const previous = this.engine.snapshot;
    const result = await loadPolicyDir(this.dir);
    if (!result.ok) {
      this.log.error(
        { problems: result.problems.slice(0, 16), trigger },
        'policy refused; the previous policy stays active',
      );
      await this.store
        ?.append(
          [
            {
              type: 'policy.load.failed',
              aggregateId: 'active',
              data: {
                trigger,
                attemptedDigest: null,
                activeDigest: previous?.digest ?? null,
                errors: result.problems.slice(0, 64).map((p) => ({
                  file: p.file,
                  // The event's schema (v1) keeps its own name for the key path.
                  keyPath: p.path.slice(0, 512),
                  message: p.message.slice(0, 512),
                })),
              },
            },
          ],
          { expectedSequence: 'any' },
        )
        .catch((err: unknown) => this.log.error({ err }, 'could not record policy.load.failed'));
      return { ok: false, problems: result.problems, activeDigest: previous?.digest ?? null };
    }
    const snapshot = result.snapshot;
    const changed = snapshot.digest !== previous?.digest;
    if (changed) {
      // Record first: a decision must never cite a policy the stream does not hold.
      await this.store?.append(
        [
          {
            type: 'policy.loaded',
            aggregateId: 'active',
            data: {
              digest: snapshot.digest,
              version: snapshot.version,
              trigger,
              previousDigest: previous?.digest ?? null,
              files: snapshot.files,
              documents: snapshot.canonicalDocuments,
            },
          },
        ],
        { expectedSequence: 'any' },
      );
      this.engine.install(snapshot);
      this.log.info(
        { digest: snapshot.digest, version: snapshot.version, trigger },
        'policy active',
      );
    }
    return { ok: true, digest: snapshot.digest, changed };
  }
}

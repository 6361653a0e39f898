import { Kvm, type KV } from '@nats-io/kv';
import { EnvelopeError, type CloudEvent } from '@secai/contracts';
import { followStream } from './follow.js';
import { ProjectionRunner, type Projection, type ProjectionCheckpoint } from '@secai/projections';
import { KV_BUCKETS } from './definitions.js';
import type { EventStore } from './eventStore.js';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export interface HostedProjection<Doc> {
  readonly runner: ProjectionRunner<Doc>;
  /** Resolves once the document includes every event up to `seq`. */
  caughtUp(seq: number, timeoutMs?: number): Promise<void>;
  /** Writes the checkpoint now. */
  checkpoint(): Promise<void>;
  stop(): Promise<void>;
}

export interface HostOptions {
  /** Checkpoint key prefix: the owning identity (its KV permissions cover `<owner>.>`). */
  owner: string;
  /** Write a checkpoint after this many applied events (and on stop). */
  checkpointEvery?: number;
  /** Ignore any stored checkpoint and rebuild from the first event. */
  rebuild?: boolean;
  onError?: (err: unknown) => void;
  /**
   * Called after each new event was applied (the document already includes it): how a
   * service reacts at once to what it projects (inference unloads a model on `model.contained`).
   */
  onApplied?: (e: { seq: number; event: CloudEvent }) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs a projection live: resumes from its KV checkpoint, follows the stream with an ordered
 * consumer (re-created by the client across reconnects), applies only verified events, and
 * checkpoints by stream sequence. Redelivered events are ignored by the runner, so the document
 * converges to what a fresh replay gives.
 */
export async function hostProjection<Doc>(
  nc: NatsConnection,
  js: JetStreamClient,
  jsm: JetStreamManager,
  store: EventStore,
  projection: Projection<Doc>,
  options: HostOptions,
): Promise<HostedProjection<Doc>> {
  const kv: KV = await new Kvm(nc).open(KV_BUCKETS.checkpoints);
  const key = `${options.owner}.${projection.name}`;
  let runner = new ProjectionRunner(projection);
  if (!options.rebuild) {
    const entry = await kv.get(key);
    if (entry && entry.length > 0) {
      runner = ProjectionRunner.fromCheckpoint(
        projection,
        JSON.parse(decoder.decode(entry.value)) as ProjectionCheckpoint<Doc>,
      );
    }
  }
  const every = options.checkpointEvery ?? 500;
  let sinceCheckpoint = 0;
  let seen = runner.lastSeq;
  const save = async () => {
    await kv.put(key, encoder.encode(JSON.stringify(runner.checkpoint())));
    sinceCheckpoint = 0;
  };
  const follower = followStream(js, jsm, {
    stream: store.stream,
    fromSeq: runner.lastSeq + 1,
    ...(options.onError ? { onError: options.onError } : {}),
    onMessage: async (m) => {
      seen = Math.max(seen, m.seq);
      try {
        const verified = store.verifyMessage(m);
        if (runner.apply({ seq: m.seq, event: verified.event })) {
          sinceCheckpoint++;
          options.onApplied?.({ seq: m.seq, event: verified.event });
        }
      } catch (err) {
        // Refused envelopes are never projected; the consumers that act on events record them.
        if (!(err instanceof EnvelopeError)) throw err;
      }
      if (sinceCheckpoint >= every) await save();
    },
  });
  return {
    get runner() {
      return runner;
    },
    async caughtUp(seq, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (seen < seq) {
        if (Date.now() > deadline)
          throw new Error(`projection ${projection.name} did not reach ${seq} (at ${seen})`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    checkpoint: save,
    async stop() {
      await follower.stop();
      await save();
    },
  };
}

import { ConcurrencyError, EnvelopeError } from '@secai/contracts';
import { GENESIS_HEAD, chainLink } from '@secai/projections';
import {
  TYPE_HEADER,
  followStream,
  streamBounds,
  type JsMsg,
  type ServiceRuntime,
} from '@secai/streams';
import type { Logger } from 'pino';
import {
  decideSeal,
  evolve,
  initialSealerState,
  sealed,
  shouldSeal,
  type SealPolicy,
  type SealerState,
} from './decider.js';

export interface SealResult {
  sealSeq: number | null;
  toSeq: number | null;
  head: string;
}

export interface Sealer {
  status(): SealerState & { mismatches: number; lastError: string | null };
  /** Catches up with the stream, then seals whatever is unsealed (an export seals its tail). */
  sealNow(requestId?: string, timeoutMs?: number): Promise<SealResult>;
  stop(): Promise<void>;
}

/**
 * Follows the whole stream in sequence order with an ordered consumer, chains every stored
 * envelope (ARCHITECTURE §3.4) and appends `audit.checkpoint.sealed` every N events or T ms.
 * The chain is rebuilt from the first sequence on every start: it is a hash per event, and a
 * checkpoint would be one more thing to trust. Seals found in the stream are checked against the
 * recomputed chain; a mismatch is logged as tampering and does not move the sealed mark.
 */
export function startSealer(
  rt: Pick<ServiceRuntime, 'js' | 'jsm' | 'store'>,
  policy: SealPolicy,
  log: Logger,
): Sealer {
  let state: SealerState = initialSealerState(GENESIS_HEAD);
  let lastSealAt = Date.now();
  let mismatches = 0;
  let lastError: string | null = null;
  // Heads and event counts since the sealed mark, to check (and recover from) seals in the stream.
  const recent = new Map<number, { head: string; events: number }>();
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };

  const seal = async (requestId?: string): Promise<SealResult> => {
    const [draft] = decideSeal(
      { type: 'seal', ...(requestId !== undefined ? { requestId } : {}) },
      state,
    ).events;
    if (!draft) return { sealSeq: null, toSeq: state.sealedToSeq || null, head: state.sealedHead };
    try {
      const { lastSequence } = await rt.store.append([draft], {
        expectedSequence: state.lastSealEventSeq,
      });
      state = sealed(state, draft, lastSequence);
      lastSealAt = Date.now();
      lastError = null;
      for (const seq of recent.keys()) if (seq < draft.data.toSeq) recent.delete(seq);
      log.info(
        { toSeq: draft.data.toSeq, count: draft.data.count, sealSeq: lastSequence },
        'audit chain sealed',
      );
      return { sealSeq: lastSequence, toSeq: draft.data.toSeq, head: draft.data.head };
    } catch (err) {
      if (err instanceof ConcurrencyError) {
        log.warn('another sealer appended to audit/chain; its seal will be read from the stream');
        return { sealSeq: null, toSeq: state.sealedToSeq || null, head: state.sealedHead };
      }
      throw err;
    }
  };

  const chain = (m: JsMsg) => {
    const head = chainLink(state.head, m.seq, m.data);
    if (m.headers?.get(TYPE_HEADER) === 'audit.checkpoint.sealed') {
      const claimed = checkedSeal(m);
      if (claimed) {
        const at =
          claimed.toSeq === state.sealedToSeq
            ? { head: state.sealedHead, events: state.eventsSealed }
            : recent.get(claimed.toSeq);
        if (at && at.head === claimed.head) {
          state = evolve(state, {
            kind: 'seal',
            seq: m.seq,
            head,
            seal: { ...claimed, eventsAtToSeq: at.events },
          });
          recent.set(m.seq, { head, events: state.eventsChained });
          for (const seq of recent.keys()) if (seq < claimed.toSeq) recent.delete(seq);
          return;
        }
        mismatches++;
        log.error(
          { seq: m.seq, toSeq: claimed.toSeq },
          'a seal in the stream does not match the recomputed chain',
        );
      }
      state = { ...state, head, lastSeq: m.seq };
      recent.set(m.seq, { head, events: state.eventsChained });
      return;
    }
    state = evolve(state, { kind: 'event', seq: m.seq, head });
    recent.set(m.seq, { head, events: state.eventsChained });
  };

  const checkedSeal = (m: JsMsg): { toSeq: number; head: string } | null => {
    try {
      const verified = rt.store.verifyMessage(m);
      const data = verified.event.data as { toSeq: number; head: string };
      return { toSeq: data.toSeq, head: data.head };
    } catch (err) {
      if (err instanceof EnvelopeError) {
        log.error({ seq: m.seq, code: err.code }, 'a refused envelope claims to be a seal');
        return null;
      }
      throw err;
    }
  };

  // Chaining is pure and cannot fail; a failed seal (bus restarting) is retried on the next
  // message or tick. Nothing here may end the follower, or the recorder would silently stop.
  const follower = followStream(rt.js, rt.jsm, {
    stream: rt.store.stream,
    fromSeq: 1,
    onError: (err) => log.warn({ err }, 'following the stream failed; re-creating the consumer'),
    onMessage: (m) =>
      serial(async () => {
        chain(m);
        if (shouldSeal(state, policy, Date.now() - lastSealAt)) await seal();
      }).catch((err: unknown) => {
        lastError = String((err as Error).message ?? err);
        log.error({ err }, 'sealing failed; will retry');
      }),
  });
  const timer = setInterval(
    () => {
      void serial(async () => {
        if (shouldSeal(state, policy, Date.now() - lastSealAt)) await seal();
      }).catch((err: unknown) => {
        lastError = String((err as Error).message ?? err);
        log.error({ err }, 'timed seal failed; will retry');
      });
    },
    Math.max(50, Math.min(policy.everyMs, 1000)),
  );

  return {
    status: () => ({ ...state, mismatches, lastError }),
    async sealNow(requestId, timeoutMs = 10_000) {
      const { lastSeq } = await streamBounds(rt.jsm, rt.store.stream);
      const deadline = Date.now() + timeoutMs;
      while (state.lastSeq < lastSeq) {
        if (Date.now() > deadline)
          throw new Error(`sealer did not reach sequence ${lastSeq} (at ${state.lastSeq})`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return serial(() => seal(requestId));
    },
    async stop() {
      clearInterval(timer);
      await follower.stop();
      await queue;
    },
  };
}

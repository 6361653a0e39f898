import {
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { EVENT_SUBJECT_PREFIX } from '@secai/contracts';
import { streamBounds } from './history.js';

export interface FollowOptions {
  stream: string;
  /** First stream sequence to deliver. */
  fromSeq: number;
  /** Called for each message in stream order; awaited before the next one. */
  onMessage: (m: JsMsg) => Promise<void> | void;
  onError?: (err: unknown) => void;
  batch?: number;
  /** How long one pull waits for messages (also how fast a dead consumer is noticed). */
  expiresMs?: number;
}

export interface Follower {
  /** Next sequence this follower will deliver. */
  readonly next: number;
  stop(): Promise<void>;
}

/**
 * Follows the whole stream in order from `fromSeq`, forever, surviving server restarts: it pulls
 * batches from an ordered consumer and, whenever a pull brings nothing while the stream holds
 * more, or anything fails, it re-creates the consumer at the next sequence it has not handled.
 * (The client's own ordered-consumer recovery alone was seen to stall after a `kill -9`.)
 */
export function followStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  options: FollowOptions,
): Follower {
  let next = options.fromSeq;
  let stopped = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => (clearTimeout(timer), resolve());
    });

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        const consumer = await js.consumers.get(options.stream, {
          filter_subjects: `${EVENT_SUBJECT_PREFIX}.>`,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: next,
        });
        while (!stopped) {
          const batch = await consumer.fetch({
            max_messages: options.batch ?? 512,
            expires: options.expiresMs ?? 2000,
          });
          let got = 0;
          for await (const m of batch) {
            if (m.seq < next) continue;
            got++;
            await options.onMessage(m);
            next = m.seq + 1;
          }
          failures = 0;
          if (got === 0 && !stopped) {
            const { lastSeq } = await streamBounds(jsm, options.stream);
            if (lastSeq >= next) break; // the consumer is stuck: re-create it where we are
          }
        }
      } catch (err) {
        if (stopped) break;
        options.onError?.(err);
        failures++;
        await pause(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
      }
    }
  })();

  return {
    get next() {
      return next;
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

import type { DraftEvent } from '@secai/contracts';
import {
  TYPE_HEADER,
  headers,
  type EventStore,
  type JetStreamClient,
  type SigningPool,
} from '@secai/streams';

/** Where decisions go before they are answered: the `decision/<domain>` aggregates. */
export interface DecisionRecorder {
  /** Records the decision durably and returns its event id; throws when it cannot. */
  record(
    event: DraftEvent<'policy.decided'>,
    links?: { causationId?: string; correlationId?: string },
  ): Promise<string>;
}

/**
 * Records each decision as a `policy.decided` event and waits for the stream's acknowledgement
 * before the answer leaves: an allow that is not in the log is never given. Decisions are a log,
 * so no per-aggregate concurrency check applies.
 */
export function streamRecorder(store: EventStore): DecisionRecorder {
  return {
    async record(event, links = {}) {
      const { ids } = await store.append([event], { expectedSequence: 'any', ...links });
      return ids[0]!;
    },
  };
}

interface Pending {
  event: DraftEvent<'policy.decided'>;
  links: { causationId?: string; correlationId?: string };
  resolve: (id: string) => void;
  reject: (err: unknown) => void;
}

/**
 * The same guarantee as `streamRecorder` (each answer waits for its own event's acknowledgement)
 * with the signing moved off the request thread: decisions arriving together are signed as one
 * batch on a `SigningPool` worker while earlier batches are being published. Under load this is
 * what keeps the decision log from being the bottleneck of the decide route.
 */
export function batchingRecorder(
  js: Pick<JetStreamClient, 'publish'>,
  pool: SigningPool,
  now: () => Date = () => new Date(),
): DecisionRecorder {
  const queue: Pending[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    while (queue.length > 0) {
      const taken = queue.splice(0, pool.batchSize);
      // One batch shares its causation and correlation: group by them.
      const groups = new Map<string, Pending[]>();
      for (const p of taken) {
        const key = `${p.links.causationId ?? ''}|${p.links.correlationId ?? ''}`;
        groups.set(key, [...(groups.get(key) ?? []), p]);
      }
      for (const group of groups.values()) void publishGroup(group);
    }
  };
  const publishGroup = async (group: Pending[]) => {
    try {
      const links = group[0]!.links;
      const signed = await pool.signBatch(
        group.map((p) => p.event),
        {
          now: now(),
          ...(links.causationId ? { causationId: links.causationId } : {}),
          ...(links.correlationId ? { correlationId: links.correlationId } : {}),
        },
      );
      signed.forEach((s, i) => {
        const h = headers();
        h.set(TYPE_HEADER, s.type);
        js.publish(s.natsSubject, s.bytes, { msgID: s.id, headers: h }).then(
          () => group[i]!.resolve(s.id),
          (err: unknown) => group[i]!.reject(err),
        );
      });
    } catch (err) {
      for (const p of group) p.reject(err);
    }
  };
  return {
    record(event, links = {}) {
      return new Promise<string>((resolve, reject) => {
        queue.push({ event, links, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}

import { isServiceName } from '@secai/contracts';
import type {
  EventStore,
  JetStreamManager,
  Logger,
  NatsConnection,
  Subscription,
} from '@secai/streams';
import {
  createdConsumer,
  judgeConsumer,
  judgeUnattributed,
  requesterByRtt,
  type ApiAudit,
  type ConnectionFacts,
} from './wardenRules.js';

/** Where nats-server publishes its JetStream API audit (one message per API call). */
export const API_AUDIT_SUBJECT = '$JS.EVENT.ADVISORY.API';

export interface WardenDeps {
  /** Full-rights connection (the appliance): reads advisories, deletes consumers. */
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** Signs as the appliance: `security.bus.violation`. */
  store: EventStore;
  /** nkey public key → identity, for the users the server knows. */
  identities: ReadonlyMap<string, string>;
  /**
   * The system account's connection, to ask the server which connection made a request when
   * its audit does not say (nats-server 2.9); null: such requests stay unattributed.
   */
  system: NatsConnection | null;
  log: Logger;
}

export interface ConsumerWarden {
  /** Resolves once every advisory received so far has been dealt with (tests, shutdown). */
  idle(): Promise<void>;
  stop(): void;
}

const decoder = new TextDecoder();

/**
 * The appliance's consumer warden (issue 10 §1): JetStream lets any identity that may create a
 * consumer choose a push `deliver_subject` in the request body, which NATS subject permissions
 * cannot see, so the server would deliver stored events on a subject the identity may not
 * publish to (another service's command subject, say). The warden reads the server's API audit
 * of every consumer create, judges the consumer against its creator's rights (`judgeConsumer`),
 * deletes what the creator may not hold at once and records `security.bus.violation` on
 * `identity/<creator>` (the incident recorder opens `bus_abuse` and revokes it).
 */
export function startConsumerWarden(deps: WardenDeps): ConsumerWarden {
  const pending = new Set<Promise<void>>();
  const sub: Subscription = deps.nc.subscribe(API_AUDIT_SUBJECT, {
    callback: (err, msg) => {
      if (err) return;
      let audit: ApiAudit;
      try {
        audit = JSON.parse(decoder.decode(msg.data)) as ApiAudit;
      } catch {
        return;
      }
      const consumer = createdConsumer(audit);
      if (!consumer) return;
      const work = handle(deps, audit, consumer).catch((e: unknown) =>
        deps.log.error({ err: e, consumer }, 'consumer warden failed on a consumer'),
      );
      pending.add(work);
      void work.finally(() => pending.delete(work));
    },
  });
  return {
    async idle() {
      await deps.nc.flush();
      while (pending.size > 0) await Promise.all([...pending]);
    },
    stop: () => sub.unsubscribe(),
  };
}

async function handle(
  deps: WardenDeps,
  audit: ApiAudit,
  consumer: NonNullable<ReturnType<typeof createdConsumer>>,
): Promise<void> {
  // A pull consumer that is not durable (ordered consumers: every history read) is anyone's to
  // hold: no need to ask the server who made it.
  if (consumer.deliverSubject === undefined && !consumer.durable) return;
  const creator = await requester(deps, audit);
  // The appliance administers the bus. The dashboard may create named consumers (its ordered
  // pull reads, left alone above); a push or durable one it makes is judged like any other.
  if (creator === 'appliance') return;
  if (creator === null) {
    // Nobody to blame, and nobody to revoke: remove what no identity may hold, say so loudly.
    const verdict = judgeUnattributed([...deps.identities.values()], consumer);
    if (verdict.allowed) return;
    const action = await remove(deps, consumer);
    deps.log.error(
      { consumer, reason: verdict.reason, action },
      'removed a consumer no identity may hold; the server did not say who created it',
    );
    // Still evidence: recorded unattributed (nobody is revoked on a guess).
    await record(deps, null, verdict.kind, consumer, action);
    return;
  }
  const verdict = judgeConsumer(creator, consumer);
  if (verdict.allowed) return;
  const action = await remove(deps, consumer);
  deps.log.warn({ service: creator, consumer, reason: verdict.reason, action }, 'bus violation');
  await record(deps, creator, verdict.kind, consumer, action);
}

async function record(
  deps: WardenDeps,
  creator: string | null,
  kind: 'push_consumer' | 'foreign_consumer',
  consumer: NonNullable<ReturnType<typeof createdConsumer>>,
  action: 'deleted' | 'delete_failed',
): Promise<void> {
  await deps.store.append(
    [
      {
        type: 'security.bus.violation',
        aggregateId: creator ?? 'unattributed',
        data: {
          // `service` names a service; the dashboard is a NATS user only (no certificate, so
          // nothing to revoke) and the contracts' schema does not list it: its violation is
          // told by the aggregate, `identity/dashboard`.
          ...(creator !== null && isServiceName(creator) ? { service: creator } : {}),
          kind,
          stream: consumer.stream.slice(0, 64),
          consumer: consumer.name.slice(0, 128),
          ...(consumer.deliverSubject !== undefined
            ? { deliverSubject: consumer.deliverSubject.slice(0, 512) }
            : {}),
          action,
        },
      },
    ],
    { expectedSequence: 'any' },
  );
}

async function remove(
  deps: WardenDeps,
  consumer: { stream: string; name: string },
): Promise<'deleted' | 'delete_failed'> {
  try {
    await deps.jsm.consumers.delete(consumer.stream, consumer.name);
    return 'deleted';
  } catch (err) {
    deps.log.error({ err, consumer }, 'could not delete a forbidden consumer');
    return 'delete_failed';
  }
}

/**
 * The identity behind an audited request: the audit's `client.user` where the server shares it,
 * else the one connection whose RTT matches the audit's (asked of the server, `CONNZ`).
 */
async function requester(deps: WardenDeps, audit: ApiAudit): Promise<string | null> {
  const user = audit.client?.user;
  if (user) return deps.identities.get(user) ?? null;
  const rtt = audit.client?.rtt;
  if (deps.system === null || typeof rtt !== 'number') return null;
  const account = audit.client?.acc ?? '$G';
  try {
    const reply = await deps.system.request(
      `$SYS.REQ.ACCOUNT.${account}.CONNZ`,
      JSON.stringify({ auth: true, limit: 4096 }),
      { timeout: 5_000 },
    );
    const connz = JSON.parse(decoder.decode(reply.data)) as {
      data?: { connections?: ConnectionFacts[] };
    };
    const nkey = requesterByRtt(connz.data?.connections ?? [], rtt);
    return nkey === null ? null : (deps.identities.get(nkey) ?? null);
  } catch (err) {
    deps.log.error({ err }, 'consumer warden: the server did not answer CONNZ');
    return null;
  }
}

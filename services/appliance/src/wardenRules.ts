import { durablesOf, isDurableName } from '@secai/contracts';
import { inboxPrefixOf } from '@secai/streams';

/** What the server says a consumer is (from its create response or its info). */
export interface ConsumerFacts {
  stream: string;
  name: string;
  /** `durable_name` was set: the consumer outlives its creator's connection. */
  durable: boolean;
  /** Set for a push consumer: where the server delivers the stream's stored messages. */
  deliverSubject?: string;
}

export type ConsumerVerdict =
  | { allowed: true }
  | { allowed: false; kind: 'push_consumer' | 'foreign_consumer'; reason: string };

/** The read-only identity of the browser and the terminal dashboard. */
export const DASHBOARD = 'dashboard';

/**
 * Whether `identity` may hold push consumers at all: every service may (its KV watches deliver
 * into its own inbox); the dashboard may not (it reads with ordered pull consumers only, whose
 * messages come back as replies; a push consumer is a standing delivery it has no use for).
 */
export function mayHoldPushConsumers(identity: string): boolean {
  return identity !== DASHBOARD;
}

/**
 * Whether `service` may hold this consumer. A push consumer may deliver only inside the
 * identity's own inbox (a KV watcher does exactly that), and the dashboard may hold none;
 * anywhere else the server would publish stored bytes on a subject the identity may not publish
 * to. A durable must be one of the identity's own in contracts' `DURABLES` (the dashboard has
 * none). Pure.
 */
export function judgeConsumer(service: string, consumer: ConsumerFacts): ConsumerVerdict {
  const deliver = consumer.deliverSubject;
  if (deliver !== undefined && deliver !== '' && !mayHoldPushConsumers(service))
    return {
      allowed: false,
      kind: 'push_consumer',
      reason: `push consumer delivering to ${deliver}: ${service} may hold ordered pull consumers only`,
    };
  if (deliver !== undefined && deliver !== '' && !deliver.startsWith(`${inboxPrefixOf(service)}.`))
    return {
      allowed: false,
      kind: 'push_consumer',
      reason: `push consumer delivering to ${deliver}, outside ${service}'s inbox`,
    };
  if (consumer.durable && !(durablesOf(service) as string[]).includes(consumer.name))
    return {
      allowed: false,
      kind: 'foreign_consumer',
      reason: `durable ${consumer.name} is not one of ${service}'s durables`,
    };
  return { allowed: true };
}

/**
 * The same question when the server did not say who created the consumer: only what no identity
 * may hold is refused (a push delivery outside the inbox of every identity that may hold push
 * consumers, a durable that is in nobody's table), so a legitimate consumer is never removed on
 * a guess.
 */
export function judgeUnattributed(
  identities: readonly string[],
  consumer: ConsumerFacts,
): ConsumerVerdict {
  const deliver = consumer.deliverSubject;
  if (
    deliver !== undefined &&
    deliver !== '' &&
    !identities.filter(mayHoldPushConsumers).some((i) => deliver.startsWith(`${inboxPrefixOf(i)}.`))
  )
    return {
      allowed: false,
      kind: 'push_consumer',
      reason: `push consumer delivering to ${deliver}, outside the inbox of every identity that may hold one`,
    };
  if (consumer.durable && !isDurableName(consumer.name))
    return {
      allowed: false,
      kind: 'foreign_consumer',
      reason: `durable ${consumer.name} belongs to no identity`,
    };
  return { allowed: true };
}

/**
 * The consumer a successful create answered with, from a JetStream API audit advisory; null
 * for anything else (another API call, a refused create, a body that is not JSON).
 */
export function createdConsumer(audit: ApiAudit): ConsumerFacts | null {
  if (
    !audit.subject.startsWith('$JS.API.CONSUMER.CREATE.') &&
    !audit.subject.startsWith('$JS.API.CONSUMER.DURABLE.CREATE.')
  )
    return null;
  let response: {
    error?: unknown;
    stream_name?: unknown;
    name?: unknown;
    config?: { durable_name?: unknown; deliver_subject?: unknown };
  };
  try {
    response = JSON.parse(audit.response) as typeof response;
  } catch {
    return null;
  }
  if (response.error !== undefined) return null;
  if (typeof response.stream_name !== 'string' || typeof response.name !== 'string') return null;
  const deliver = response.config?.deliver_subject;
  return {
    stream: response.stream_name,
    name: response.name,
    durable: typeof response.config?.durable_name === 'string',
    ...(typeof deliver === 'string' && deliver !== '' ? { deliverSubject: deliver } : {}),
  };
}

/** The fields of `$JS.EVENT.ADVISORY.API` (io.nats.jetstream.advisory.v1.api_audit) we read. */
export interface ApiAudit {
  subject: string;
  response: string;
  client?: { user?: string; rtt?: number; acc?: string };
}

/**
 * A Go `time.Duration` string as nats-server prints it in `CONNZ` ("24.126977ms", "1.5s",
 * "850µs", "1m2.5s") to nanoseconds; null when it is not one.
 */
export function parseGoDuration(text: string): number | null {
  if (text === '0s' || text === '0') return 0;
  // Decimal digits per unit: the fraction is read as an integer, never through a float product,
  // so "24.126977ms" is exactly 24126977 ns.
  const exact: Record<string, number> = { ns: 0, us: 3, µs: 3, μs: 3, ms: 6, s: 9 };
  const coarse: Record<string, number> = { m: 60e9, h: 3600e9 };
  const part = /(\d+)(?:\.(\d+))?(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = part.exec(text); m; m = part.exec(text)) {
    const [whole, int, frac = '', unit] = m as unknown as [
      string,
      string,
      string | undefined,
      string,
    ];
    const digits = exact[unit];
    if (digits === undefined) {
      if (frac !== '') return null;
      total += Number(int) * coarse[unit]!;
    } else {
      total +=
        Number(int) * 10 ** digits + Number(frac.padEnd(digits, '0').slice(0, digits) || '0');
    }
    consumed += whole.length;
  }
  return consumed === text.length && consumed > 0 ? total : null;
}

/**
 * The server's own rounding of an RTT in `CONNZ`: between 1 µs and 1 ms it is truncated to the
 * microsecond (nats-server `getRTT`), elsewhere kept to the nanosecond.
 */
export function connzRtt(rttNs: number): number {
  return rttNs > 1_000 && rttNs < 1_000_000 ? rttNs - (rttNs % 1_000) : rttNs;
}

/** One connection of a `CONNZ` answer. */
export interface ConnectionFacts {
  authorized_user?: string;
  rtt?: string;
}

/**
 * The nkey of the one connection whose round-trip time is exactly the requester's (the audit's
 * `client.rtt`, in ns). On 2.9 the audit names no user, but carries the requesting connection's
 * RTT, which the server measures per connection to the nanosecond; two connections with the same
 * value are ambiguous, and then nobody is named (never a guess: a violation leads to revocation).
 */
export function requesterByRtt(
  connections: readonly ConnectionFacts[],
  rttNs: number,
): string | null {
  const matches = connections.filter(
    (c) => c.rtt !== undefined && c.authorized_user && parseGoDuration(c.rtt) === connzRtt(rttNs),
  );
  const users = new Set(matches.map((c) => c.authorized_user));
  return users.size === 1 ? [...users][0]! : null;
}

import {
  AUTHORITY,
  COMMANDS,
  DURABLES,
  COMMAND_SUBJECT_PREFIX,
  EVENT_SUBJECT_PREFIX,
  PROGRESS_SUBJECT_PREFIX,
  SERVICES,
  catalogue,
  durablesOf,
  type DurableName,
  type EventType,
  type ServiceName,
} from '@secai/contracts';
import { EVENTS_STREAM, KV_BUCKETS } from './definitions.js';

export interface SubjectPermissions {
  publish: { allow?: string[]; deny?: string[] };
  subscribe: { allow?: string[]; deny?: string[] };
  /** Lets a command handler answer requests without a blanket publish right on inboxes. */
  allow_responses?: boolean | { max: number; expires: string };
}

/** Inbox prefix per identity, so no identity can read another's replies. */
export function inboxPrefixOf(user: string): string {
  return `_INBOX_${user.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** Aggregate types whose subjects `service` may publish on (exclusive emitters only). */
export function ownedAggregates(service: ServiceName): string[] {
  const owned = new Set<string>();
  for (const type of Object.keys(AUTHORITY) as EventType[]) {
    const emitters = AUTHORITY[type];
    if (emitters !== 'every-service' && emitters.includes(service)) {
      owned.add(catalogue[type].aggregate);
    }
  }
  return [...owned].sort();
}

/** Every JetStream API subject that names one consumer of `stream`, for the consumer `name`. */
function consumerApi(stream: string, name: string): string[] {
  return [
    `$JS.API.CONSUMER.CREATE.${stream}.${name}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${name}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
    `$JS.API.CONSUMER.INFO.${stream}.${name}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`,
    `$JS.API.CONSUMER.DELETE.${stream}.${name}`,
    `$JS.ACK.${stream}.${name}.>`,
  ];
}

/**
 * What any reader may ask of JetStream: stream info, message gets (direct and API), named
 * consumers on the events stream (the ordered consumers of nats.js, `<nuid>_<n>`, pull: their
 * messages come back on the requester's own inbox, and they need no acks) and the reads of the
 * trust KV (info, gets, named pull consumers on its stream). Nothing that writes, deletes or
 * purges. A named create can still carry a durable or a push `deliver_subject` in its body,
 * which subjects cannot see: the appliance's consumer warden judges those.
 */
function readOnlyApi(stream: string): string[] {
  const kvTrust = `KV_${KV_BUCKETS.trust}`;
  return [
    '$JS.API.INFO',
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}.*`,
    `$JS.API.CONSUMER.CREATE.${stream}.*.>`,
    `$JS.API.CONSUMER.INFO.${stream}.*`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.API.STREAM.INFO.${kvTrust}`,
    `$JS.API.STREAM.MSG.GET.${kvTrust}`,
    `$JS.API.DIRECT.GET.${kvTrust}.>`,
  ];
}

/** Every API subject of another identity's durables, by name (deny wins over allow). */
function foreignDurablesApi(identity: string, stream: string): string[] {
  const foreign = (Object.keys(DURABLES) as DurableName[]).filter((d) => DURABLES[d] !== identity);
  return foreign.flatMap((d) => consumerApi(stream, d));
}

/**
 * JetStream API subjects a reading service needs: the read-only API, its own durables (create,
 * info, next, ack), KV watches of the trust bundle (push consumers into its own inbox, with flow
 * control). No delete of any kind.
 *
 * What subjects cannot say, the deny list does: every durable in contracts' `DURABLES` that
 * belongs to another identity is denied by name on each of its API subjects (deny wins over
 * allow in nats-server), so `CONSUMER.CREATE.<stream>.*` cannot be used to reconfigure, read or
 * acknowledge another service's durable. The legacy `CONSUMER.CREATE.<stream>` (name in the
 * body) is not granted. A consumer's body (a push `deliver_subject`, an unlisted durable) is
 * invisible to permissions: the appliance's consumer warden removes those.
 */
function readerApi(service: string, stream: string): { allow: string[]; deny: string[] } {
  const kvTrust = `KV_${KV_BUCKETS.trust}`;
  return {
    allow: [
      ...readOnlyApi(stream),
      ...durablesOf(service).flatMap((d) => [
        `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${d}`,
        `$JS.ACK.${stream}.${d}.>`,
      ]),
      `$JS.API.CONSUMER.CREATE.${kvTrust}`,
      `$JS.API.CONSUMER.CREATE.${kvTrust}.>`,
      `$JS.FC.${kvTrust}.>`,
      `$JS.FC.${stream}.>`,
    ],
    deny: foreignDurablesApi(service, stream),
  };
}

/** Checkpoint KV rights, restricted to the identity's own keys. */
function checkpointApi(user: string): string[] {
  const kv = `KV_${KV_BUCKETS.checkpoints}`;
  return [
    `$JS.API.STREAM.INFO.${kv}`,
    `$JS.API.STREAM.MSG.GET.${kv}`,
    `$JS.API.DIRECT.GET.${kv}.$KV.${KV_BUCKETS.checkpoints}.${user}.>`,
    `$KV.${KV_BUCKETS.checkpoints}.${user}.>`,
  ];
}

/**
 * Permissions of one service: publish only on the aggregates it owns and on its own
 * `service/<name>` aggregate, send only the commands it is listed as a caller of, subscribe only
 * to its own inbox and its own command subjects. Mirrors the authority table in contracts.
 */
export function servicePermissions(
  service: ServiceName,
  stream = EVENTS_STREAM,
): SubjectPermissions {
  const reader = readerApi(service, stream);
  const publish = [
    ...ownedAggregates(service).map((agg) => `${EVENT_SUBJECT_PREFIX}.${agg}.*`),
    `${EVENT_SUBJECT_PREFIX}.service.${service}`,
    ...Object.values(COMMANDS)
      .filter((c) => (c.callers as readonly string[]).includes(service))
      .map((c) => `${COMMAND_SUBJECT_PREFIX}.${c.handler}.${c.name}`),
    `${PROGRESS_SUBJECT_PREFIX}.${service}.>`,
    ...reader.allow,
    ...checkpointApi(service),
  ];
  // Progress of the long commands it may send, from their handlers only.
  const progress = [
    ...new Set(
      Object.values(COMMANDS)
        .filter((c) => (c.callers as readonly string[]).includes(service))
        .map((c) => `${PROGRESS_SUBJECT_PREFIX}.${c.handler}.>`),
    ),
  ];
  return {
    publish: { allow: publish, deny: reader.deny },
    subscribe: {
      allow: [`${inboxPrefixOf(service)}.>`, `${COMMAND_SUBJECT_PREFIX}.${service}.>`, ...progress],
    },
    allow_responses: { max: 1, expires: '30s' },
  };
}

/** The browser's and the terminal dashboard's NATS user: it reads and never signs. */
export const DASHBOARD = 'dashboard';

/**
 * The read-only dashboard identity: live events (`secai.evt.>`), the read-only JetStream API
 * (stream info, message gets, ordered pull consumers on the events stream and on the trust KV's
 * stream, their next-message requests) and replies on its own inbox (`_INBOX_dashboard`, where
 * a pull consumer's messages arrive too). No durable (not even by the old `DURABLE.CREATE`), no
 * delete, purge or stream change, no event, command or progress subject, no acks, no flow
 * control (push consumers are not its to hold: the warden removes one it makes), no KV write.
 * Every identity's durables are denied by name as well, so it cannot read through one.
 */
export function dashboardPermissions(stream = EVENTS_STREAM): SubjectPermissions {
  const kvTrust = `KV_${KV_BUCKETS.trust}`;
  return {
    publish: {
      allow: [
        ...readOnlyApi(stream),
        // Ordered pull consumers on the trust KV's stream: how the page follows the bundle
        // (a KV watch is a push consumer).
        `$JS.API.CONSUMER.CREATE.${kvTrust}.*`,
        `$JS.API.CONSUMER.CREATE.${kvTrust}.*.>`,
        `$JS.API.CONSUMER.INFO.${kvTrust}.*`,
        `$JS.API.CONSUMER.MSG.NEXT.${kvTrust}.*`,
      ],
      deny: foreignDurablesApi(DASHBOARD, stream),
    },
    subscribe: { allow: [`${EVENT_SUBJECT_PREFIX}.>`, `${inboxPrefixOf(DASHBOARD)}.>`] },
  };
}

/** The appliance supervisor administers streams, KV and trust: it is the one full-rights user. */
export function appliancePermissions(): SubjectPermissions {
  return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
}

export function permissionsFor(user: string, stream = EVENTS_STREAM): SubjectPermissions {
  if (user === DASHBOARD) return dashboardPermissions(stream);
  if (user === 'appliance') return appliancePermissions();
  if ((SERVICES as readonly string[]).includes(user)) {
    return servicePermissions(user as ServiceName, stream);
  }
  throw new Error(`no NATS permissions are defined for ${user}`);
}

/** NATS subject matching: `*` is one token, `>` one or more trailing tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/**
 * Whether `permissions` let an identity publish (or subscribe) on a literal `subject`, the way
 * nats-server decides it: some allow matches (no allow list allows all) and no deny matches.
 */
export function permits(
  permissions: SubjectPermissions,
  kind: 'publish' | 'subscribe',
  subject: string,
): boolean {
  const { allow, deny } = permissions[kind];
  if (allow && !allow.some((a) => subjectMatches(a, subject))) return false;
  return !(deny ?? []).some((d) => subjectMatches(d, subject));
}

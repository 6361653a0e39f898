import {
  AUTHORITY,
  COMMANDS,
  COMMAND_SUBJECT_PREFIX,
  EVENT_SUBJECT_PREFIX,
  PROGRESS_SUBJECT_PREFIX,
  SERVICES,
  catalogue,
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

/**
 * JetStream API subjects a reading service needs: consumers, acks, message gets, trust KV. No
 * delete of any kind: a service cannot remove another's durable consumer (its own ephemeral
 * ones expire after their inactivity threshold).
 */
function readerApi(stream: string): string[] {
  const kvTrust = `KV_${KV_BUCKETS.trust}`;
  return [
    '$JS.API.INFO',
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.*`,
    `$JS.API.CONSUMER.INFO.${stream}.*`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.ACK.${stream}.>`,
    `$JS.API.STREAM.INFO.${kvTrust}`,
    `$JS.API.STREAM.MSG.GET.${kvTrust}`,
    `$JS.API.DIRECT.GET.${kvTrust}.>`,
    `$JS.API.CONSUMER.CREATE.${kvTrust}`,
    `$JS.API.CONSUMER.CREATE.${kvTrust}.>`,
    `$JS.FC.${kvTrust}.>`,
    `$JS.FC.${stream}.>`,
  ];
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
  const publish = [
    ...ownedAggregates(service).map((agg) => `${EVENT_SUBJECT_PREFIX}.${agg}.*`),
    `${EVENT_SUBJECT_PREFIX}.service.${service}`,
    ...Object.values(COMMANDS)
      .filter((c) => (c.callers as readonly string[]).includes(service))
      .map((c) => `${COMMAND_SUBJECT_PREFIX}.${c.handler}.${c.name}`),
    `${PROGRESS_SUBJECT_PREFIX}.${service}.>`,
    ...readerApi(stream),
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
    publish: { allow: publish },
    subscribe: {
      allow: [`${inboxPrefixOf(service)}.>`, `${COMMAND_SUBJECT_PREFIX}.${service}.>`, ...progress],
    },
    allow_responses: { max: 1, expires: '30s' },
  };
}

/** The read-only dashboard identity: live events, nothing else. */
export function dashboardPermissions(): SubjectPermissions {
  return {
    publish: { deny: ['>'] },
    subscribe: { allow: [`${EVENT_SUBJECT_PREFIX}.>`] },
  };
}

/** The appliance supervisor administers streams, KV and trust: it is the one full-rights user. */
export function appliancePermissions(): SubjectPermissions {
  return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
}

export function permissionsFor(user: string, stream = EVENTS_STREAM): SubjectPermissions {
  if (user === 'dashboard') return dashboardPermissions();
  if (user === 'appliance') return appliancePermissions();
  if ((SERVICES as readonly string[]).includes(user)) {
    return servicePermissions(user as ServiceName, stream);
  }
  throw new Error(`no NATS permissions are defined for ${user}`);
}

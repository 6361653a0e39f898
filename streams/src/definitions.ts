import type { StreamConfig } from '@nats-io/jetstream';
import { EVENT_SUBJECT_PREFIX, MAX_ENVELOPE_BYTES } from '@secai/contracts';

/** Stream holding every domain event (ARCHITECTURE §3.2). */
export const EVENTS_STREAM = 'SECAI_EVENTS';

/** KV buckets: state, not history. Every value here can be rebuilt from the stream. */
export const KV_BUCKETS = {
  /** Trust bundle (root, issued certificates, revocations) under the key `bundle`. */
  trust: 'secai_trust',
  /** Projection checkpoints: `<owner>.<projection>` → { seq, document }. */
  checkpoints: 'secai_checkpoints',
  /** xstate snapshots: a cache, rebuilt from the stream when missing or stale. */
  snapshots: 'secai_snapshots',
} as const;

export interface EventsStreamOptions {
  name?: string;
  /** Subject filter the stream captures; tests use private prefixes. */
  subjects?: string[];
  /** Retention limits are configuration; 0 / -1 keep everything (the default). */
  maxAgeNanos?: number;
  maxBytes?: number;
  duplicateWindowNanos?: number;
}

const SECOND_NANOS = 1_000_000_000;

/**
 * Stream config as data. File storage; no limits unless configured; delete and purge denied so
 * removing history needs a deliberate, audited configuration change.
 */
export function eventsStreamConfig(
  options: EventsStreamOptions = {},
): Partial<StreamConfig> & { name: string } {
  return {
    name: options.name ?? EVENTS_STREAM,
    subjects: options.subjects ?? [`${EVENT_SUBJECT_PREFIX}.>`],
    storage: 'file',
    retention: 'limits',
    discard: 'old',
    max_age: options.maxAgeNanos ?? 0,
    max_bytes: options.maxBytes ?? -1,
    max_msgs: -1,
    max_msg_size: MAX_ENVELOPE_BYTES + 16 * 1024,
    duplicate_window: options.duplicateWindowNanos ?? 120 * SECOND_NANOS,
    num_replicas: 1,
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
  };
}

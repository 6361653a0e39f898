import {
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { EVENT_SUBJECT_PREFIX } from '@secai/contracts';
import { TYPE_HEADER } from './eventStore.js';

export interface StoredEntry {
  seq: number;
  subject: string;
  /** The envelope bytes exactly as stored. */
  bytes: Uint8Array;
  /** Event type from the header (unverified: for display and skipping only). */
  type: string | undefined;
}

export interface HistoryRange {
  fromSeq?: number;
  /** Inclusive; defaults to the stream's last sequence when reading starts. */
  toSeq?: number;
  filterSubject?: string;
  /** Keep waiting for new events after the end (tail --follow); ends when the signal aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

/**
 * One stored message as a `StoredEntry`; the type header is decoded only when asked for (chain
 * verification never does). An own getter, not a class's: spreading or JSON-encoding an entry
 * still copies its `type`.
 */
function entryOf(message: JsMsg): StoredEntry {
  return {
    seq: message.seq,
    subject: message.subject,
    bytes: message.data,
    get type(): string | undefined {
      return message.headers?.get(TYPE_HEADER) || undefined;
    },
  };
}

/** First and last sequence of the stream (0/0 when empty). */
export async function streamBounds(
  jsm: JetStreamManager,
  stream: string,
): Promise<{ firstSeq: number; lastSeq: number; messages: number }> {
  const info = await jsm.streams.info(stream);
  return {
    firstSeq: info.state.first_seq,
    lastSeq: info.state.last_seq,
    messages: info.state.messages,
  };
}

/**
 * The first stream sequence stored at or after `time` on the events subjects, or null when
 * nothing is (an ordered consumer started by time; one message fetched).
 */
export async function firstSeqAtOrAfter(
  js: JetStreamClient,
  stream: string,
  time: Date,
): Promise<number | null> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: `${EVENT_SUBJECT_PREFIX}.>`,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: time.toISOString(),
  });
  try {
    const batch = await consumer.fetch({ max_messages: 1, expires: 1000 });
    for await (const m of batch) return m.seq;
    return null;
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

/**
 * Reads stored envelopes in stream order with an ordered consumer (no acks, recreated by the
 * client on any gap), from `fromSeq` up to `toSeq` inclusive. Nothing is verified here: the
 * caller decides what to check, so forensics can also look at refused envelopes.
 */
export async function* readHistory(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  range: HistoryRange = {},
): AsyncGenerator<StoredEntry> {
  const bounds = await streamBounds(jsm, stream);
  const toSeq = range.follow
    ? Number.MAX_SAFE_INTEGER
    : Math.min(range.toSeq ?? bounds.lastSeq, bounds.lastSeq);
  const fromSeq = Math.max(range.fromSeq ?? bounds.firstSeq, bounds.firstSeq, 1);
  if (!range.follow && (bounds.messages === 0 || fromSeq > toSeq)) return;
  // A filter nothing matches would leave the consumer waiting forever: ask the server first.
  if (!range.follow && range.filterSubject !== undefined) {
    const info = await jsm.streams.info(stream, { subjects_filter: range.filterSubject });
    if (Object.keys(info.state.subjects ?? {}).length === 0) return;
  }
  const consumer = await js.consumers.get(stream, {
    filter_subjects: range.filterSubject ?? `${EVENT_SUBJECT_PREFIX}.>`,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
  });
  const messages = await consumer.consume({ max_messages: 1024 });
  range.signal?.addEventListener('abort', () => void messages.close());
  try {
    for await (const m of messages) {
      if (m.seq > toSeq) break;
      yield entryOf(m);
      // pending counts what matches the filter beyond this message: 0 means we have it all.
      if (m.seq >= toSeq) break;
      // With a subject filter the last match may lie before toSeq: then `pending` ends the read.
      // Unfiltered reads never rely on it (seen stopping short right after a publish burst).
      if (!range.follow && range.filterSubject !== undefined && m.info.pending === 0) break;
    }
  } finally {
    await messages.close().catch(() => undefined);
  }
}

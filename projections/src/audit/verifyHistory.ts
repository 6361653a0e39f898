import {
  EnvelopeError,
  PAYLOAD_TYPE,
  decodePayload,
  parseEnvelope,
  verifyEnvelope,
  type DsseEnvelope,
  type EventData,
  type TrustStore,
} from '@secai/contracts';
import { GENESIS_HEAD, entryDigest, headBytes, linkDigest } from '../chain/index.js';
import type { HistoryReport, VerificationCode, VerificationFailure } from './codes.js';
import { EventIdIndex } from './eventIds.js';
import { HeadStore } from './headStore.js';

export const SEAL_TYPE = 'audit.checkpoint.sealed';
type SealData = EventData<'audit.checkpoint.sealed'>;

/** One stored entry: its stream sequence and the envelope bytes exactly as stored. */
export interface HistoryEntry {
  seq: number;
  bytes: Uint8Array;
  /**
   * The NATS subject it was stored on. When given, the envelope is verified against it exactly
   * as the live consumers do (an envelope replayed onto another subject is `SUBJECT_MISMATCH`).
   */
  subject?: string;
  /** Its `Secai-Type` header, when it had one: it must name the signed type, as for consumers. */
  type?: string;
  /**
   * The bytes are not one line of JSON (a bundle carried them base64-encoded): always verified,
   * like seals, so a forged entry is reported in chain-only mode too.
   */
  encoded?: boolean;
}

export interface VerifyHistoryOptions {
  trust: TrustStore;
  /**
   * Verify every envelope (slow), not only the chain and the seals (fast). Also reports every
   * verified event whose id repeats an earlier verified one (`EVENT_ID_DUPLICATE`).
   */
  signatures: boolean;
  /** Where the chain starts when it does not start at genesis (seq 0). */
  start?: { seq: number; head: string };
  /**
   * Require a verified seal to vouch for `start` (a seal with `toSeq === start.seq` and
   * `head === start.head`, or one continuing from it); else `CHAIN_START_UNANCHORED`.
   */
  anchorStart?: boolean;
  /** Called with the number of entries read, every 1024 entries and at the end. */
  onProgress?: (checked: number) => void;
}

/**
 * Entries that arrive ahead of a missing sequence wait here, so a few swapped lines are reported
 * as misplaced (and still chained in order) rather than as a gap. Past this many the missing
 * sequence is declared a gap.
 */
const REORDER_WINDOW = 1024;
const HEAD_HEX = /^[0-9a-f]{64}$/;
const PROGRESS_EVERY = 1024;

interface Pending {
  digest: Buffer;
  /** Data of a seal whose envelope verified; null for everything else. */
  seal: SealData | null;
}

interface SealMark {
  toSeq: number;
  /** Heads the next seal may name as `previousHead`: the one sealed and the recomputed ones. */
  heads: string[];
  /** Whether this mark is the chain start rather than a seal. */
  isStart: boolean;
}

/**
 * Recomputes the hash chain over stored entries (ARCHITECTURE §3.4) and checks every seal in
 * it: each seal's envelope is verified, its window must continue the previous seal, and the
 * head recomputed at its `toSeq` must equal the head it signed. With `signatures` every entry's
 * envelope is verified as well. Entries must come in stream order; misplaced, missing and
 * repeated sequences are reported with the sequence concerned.
 *
 * Each seal's window is checked from the `previousHead` it signed, so one altered or missing
 * entry is reported once, at the seal that covers it, not at every later seal.
 *
 * Memory: 64 bytes per entry since the last seal's `toSeq`, plus up to `REORDER_WINDOW`
 * entries waiting for a missing sequence.
 */
export async function verifyHistory(
  entries: Iterable<HistoryEntry> | AsyncIterable<HistoryEntry>,
  options: VerifyHistoryOptions,
): Promise<HistoryReport> {
  const { trust, signatures, onProgress } = options;
  const startSeq = options.start?.seq ?? 0;
  const startHead = options.start?.head ?? GENESIS_HEAD;
  let head = headBytes(startHead);

  const failures: VerificationFailure[] = [];
  const warnings: string[] = [];
  const fail = (seq: number, code: VerificationCode, message: string): void => {
    failures.push({ seq, code, message });
  };

  const store = new HeadStore();
  const ids = signatures ? new EventIdIndex() : null;
  const pending = new Map<number, Pending>();
  /** Sequences declared missing, as inclusive ranges. */
  const gaps: [number, number][] = [];
  let expected = startSeq + 1;
  /** Sequence of the entry read just before this one. */
  let previousSeq = startSeq;
  // Assigned in the closures below: typed so that control flow does not pin them to null.
  let firstSeq = null as number | null;
  let lastSeq = null as number | null;
  let checked = 0;
  let seals = 0;
  let anchored = startSeq === 0 && startHead === GENESIS_HEAD;
  let mark: SealMark = { toSeq: startSeq, heads: [startHead], isStart: true };
  let sealedTo = startSeq;
  /** Last chained entry that is not itself a verified seal. */
  let lastEventSeq = startSeq;

  const headAt = (seq: number): string | null =>
    seq === startSeq ? startHead : (store.head(seq)?.toString('hex') ?? null);

  const checkSeal = (sealSeq: number, data: SealData): void => {
    const { fromSeq, toSeq, count } = data;
    const window = `${fromSeq}..${toSeq}`;
    const consistent =
      fromSeq <= toSeq &&
      toSeq < sealSeq &&
      count === toSeq - fromSeq + 1 &&
      HEAD_HEX.test(data.head) &&
      HEAD_HEX.test(data.previousHead);
    if (!consistent) {
      fail(
        sealSeq,
        'SEAL_INVALID',
        `seal of window ${window} (count ${count}) cannot stand at seq ${sealSeq}`,
      );
      return;
    }
    seals += 1;
    if (toSeq <= startSeq) {
      if (toSeq < startSeq) {
        warnings.push(
          `seal at seq ${sealSeq} covers ${window}, before the chain start ${startSeq}: not checked`,
        );
      } else if (data.head === startHead) {
        anchored = true;
      } else {
        fail(
          sealSeq,
          'CHAIN_MISMATCH',
          `seal of window ${window} says head ${data.head} at seq ${toSeq}, the chain start says ${startHead}`,
        );
      }
      return;
    }

    if (fromSeq !== mark.toSeq + 1 || !mark.heads.includes(data.previousHead)) {
      const previous = mark.isStart
        ? `the chain start at seq ${mark.toSeq}`
        : `the seal ending at seq ${mark.toSeq}`;
      fail(sealSeq, 'SEAL_DISCONTINUOUS', `seal of window ${window} does not continue ${previous}`);
    } else if (mark.isStart) {
      anchored = true;
    }

    // The window is checked from the head this seal signed as its start, so an earlier broken
    // window does not break this one too.
    const continuous = headAt(toSeq);
    let recomputed: string | null;
    if (headAt(fromSeq - 1) === data.previousHead) {
      recomputed = continuous;
    } else {
      recomputed = recomputeWindow(store, headBytes(data.previousHead), fromSeq, toSeq);
    }
    if (recomputed === null) {
      fail(
        sealSeq,
        'CHAIN_MISMATCH',
        `window ${window}: entries are missing, the head cannot be recomputed`,
      );
    } else if (recomputed !== data.head) {
      fail(
        sealSeq,
        'CHAIN_MISMATCH',
        `window ${window}: recomputed head ${recomputed}, sealed head ${data.head}`,
      );
    }

    const heads = new Set([data.head]);
    if (continuous !== null) heads.add(continuous);
    if (recomputed !== null) heads.add(recomputed);
    mark = { toSeq, heads: [...heads], isStart: false };
    sealedTo = Math.max(sealedTo, toSeq);
    store.pruneBelow(toSeq);
  };

  const chain = (seq: number, item: Pending): void => {
    head = linkDigest(head, seq, item.digest);
    store.record(seq, item.digest, head);
    firstSeq ??= seq;
    lastSeq = seq;
    expected = seq + 1;
    if (item.seal) checkSeal(seq, item.seal);
    else lastEventSeq = seq;
  };

  const drain = (): void => {
    for (let item = pending.get(expected); item; item = pending.get(expected)) {
      pending.delete(expected);
      chain(expected, item);
    }
  };

  const declareGap = (): void => {
    const next = Math.min(...pending.keys());
    const missing =
      next - 1 === expected
        ? `seq ${expected} is missing`
        : `seqs ${expected}..${next - 1} are missing`;
    fail(expected, 'SEQUENCE_GAP', missing);
    gaps.push([expected, next - 1]);
    expected = next;
    drain();
  };

  /**
   * Verifies an envelope with what the live consumers check it against (its stream sequence,
   * NATS subject and type header: the one shared `verifyEnvelope`), recording a refusal as a
   * failure; returns the event or null. A verified event repeating an earlier verified event's
   * id is reported too: a service storing its own old event again passes every other check.
   */
  const verify = (
    entry: HistoryEntry,
    recordId: boolean,
  ): { type: string; data: unknown } | null => {
    const { seq, bytes, subject, type } = entry;
    try {
      const { event } = verifyEnvelope(bytes, trust, {
        streamSeq: seq,
        ...(subject !== undefined ? { natsSubject: subject } : {}),
        ...(type !== undefined ? { typeHeader: type } : {}),
      });
      const earlier = recordId && ids ? ids.firstSeen(event.id, seq) : null;
      if (earlier !== null) {
        fail(
          seq,
          'EVENT_ID_DUPLICATE',
          `event id ${event.id} (${event.type} from ${event.source}) was first stored at seq ${earlier}`,
        );
      }
      return event;
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      fail(seq, error.code, entry.encoded ? `refused entry: ${error.message}` : error.message);
      return null;
    }
  };

  const take = (entry: HistoryEntry): void => {
    const { seq, bytes } = entry;
    if (seq < expected || pending.has(seq)) {
      if (seq <= startSeq) {
        fail(seq, 'SEQUENCE_ORDER', `seq ${seq} is not after the chain start ${startSeq}`);
      } else if (gaps.some(([from, to]) => seq >= from && seq <= to)) {
        fail(
          seq,
          'SEQUENCE_ORDER',
          `seq ${seq} found after seq ${previousSeq}, too late to be chained in order`,
        );
      } else {
        fail(seq, 'SEQUENCE_DUPLICATE', `seq ${seq} appears more than once`);
      }
      // A repeated line is not the stream's: its id is not recorded, so it is reported once.
      if (signatures || entry.encoded) verify(entry, false);
      return;
    }
    if (seq < previousSeq) fail(seq, 'SEQUENCE_ORDER', `seq ${seq} found after seq ${previousSeq}`);

    // Seals and encoded entries are always verified; others only with `signatures` (slow mode).
    const always = signatures || entry.encoded === true;
    const type = always || !mayBeSeal(bytes) ? null : sealClaim(bytes);
    let seal: SealData | null = null;
    if (always || type === SEAL_TYPE) {
      const event = verify(entry, true);
      if (event?.type === SEAL_TYPE) seal = event.data as SealData;
    } else if (type === MALFORMED_SEAL) {
      fail(
        seq,
        'ENVELOPE_MALFORMED',
        `seq ${seq} mentions ${SEAL_TYPE} but is not a readable envelope`,
      );
    }
    const item: Pending = { digest: entryDigest(bytes), seal };
    if (seq === expected) {
      chain(seq, item);
      drain();
    } else {
      pending.set(seq, item);
      if (pending.size > REORDER_WINDOW) declareGap();
    }
  };

  for await (const entry of entries as AsyncIterable<HistoryEntry>) {
    const { seq }: HistoryEntry = entry;
    checked += 1;
    if (onProgress && checked % PROGRESS_EVERY === 0) onProgress(checked);
    if (!Number.isSafeInteger(seq) || seq < 1) {
      fail(
        Number.isFinite(seq) ? seq : 0,
        'SEQUENCE_INVALID',
        `stream sequence ${String(seq)} is not a positive integer`,
      );
      continue;
    }
    take(entry);
    previousSeq = seq;
  }
  while (pending.size > 0) declareGap();
  if (onProgress) onProgress(checked);

  if (options.anchorStart && !anchored) {
    fail(
      startSeq,
      'CHAIN_START_UNANCHORED',
      `no verified seal vouches for head ${startHead} at seq ${startSeq}`,
    );
  }
  let unsealedTail: HistoryReport['unsealedTail'] = null;
  // Seals are never sealed themselves until more events come: a tail of seals only is not reported.
  if (lastSeq !== null && lastEventSeq > sealedTo) {
    unsealedTail = { fromSeq: sealedTo + 1, toSeq: lastSeq, count: lastSeq - sealedTo };
    warnings.push(`seqs ${sealedTo + 1}..${lastSeq} are chained but not covered by any seal yet`);
  }
  failures.sort((a, b) => a.seq - b.seq);
  return {
    ok: failures.length === 0,
    checked,
    seals,
    firstSeq,
    lastSeq,
    head: head.toString('hex'),
    failures,
    warnings,
    unsealedTail,
  };
}

const MALFORMED_SEAL = Symbol('malformed seal');
const SEAL_TYPE_BYTES = Buffer.from(SEAL_TYPE);

/**
 * `"type":"audit.checkpoint.sealed"` as it appears inside a base64 payload, at each of the three
 * byte alignments (only the characters that do not depend on neighbouring bytes). Seals are
 * written by our own code in compact JSON, so a seal always contains one of these.
 */
const SEAL_NEEDLES: readonly Buffer[] = [0, 1, 2].map((k) => {
  const text = Buffer.from(`"type":"${SEAL_TYPE}"`);
  const encoded = Buffer.concat([Buffer.alloc(k), text]).toString('base64');
  const fullGroups = Math.floor((k + text.length) / 3);
  const skip = [0, 2, 3][k]!;
  return Buffer.from(encoded.slice(skip, fullGroups * 4));
});

/** What our writer (`signEvent`, `signEventJson`) puts before the base64 payload. */
const ENVELOPE_HEAD = Buffer.from(`{"payloadType":${JSON.stringify(PAYLOAD_TYPE)},"payload":"`);
/** What `toCloudEvent`'s key order puts first in every payload. */
const EVENT_HEAD = Buffer.from('{"specversion":"1.0","id":"');
/** Base64 characters of the payload decoded to find its `type` (192 bytes: ids up to ≈ 90). */
const PREFIX_CHARS = 256;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ID_TO_SOURCE = Buffer.from('","source":"');
const SOURCE_TO_TYPE = Buffer.from('","type":"');
const SEAL_TYPE_QUOTED = Buffer.from(`${SEAL_TYPE}"`);

/**
 * Cheap pre-filter before decoding: chain-only verification is bound by decoding every envelope
 * just to find the few seals, and by scanning for them (four scans of the bytes, ≈ 2.3 µs of the
 * ≈ 6.6 µs an entry costs without NATS). Two paths:
 *
 * - **Our layout** (every envelope our writer makes): the bytes start with `ENVELOPE_HEAD`, and the
 *   first `PREFIX_CHARS` base64 characters of the payload decode to `{"specversion":"1.0","id":"…",
 *   "source":"…","type":"…"` with the id and source free of quotes and backslashes. Then the type
 *   is the one right there: a candidate exactly when it is the seal type (≈ 0.4 µs, no scan).
 * - **Anything else** (another layout, a long id, malformed bytes): the four scans, as before: the
 *   seal type in clear (a malformed claim) or its base64 form at any of the three alignments.
 *
 * Why this cannot let a tampered history pass (nor skip a genuine seal):
 * - It reads only the stored bytes, the same bytes that are hashed into the chain; no header or
 *   other unsigned side channel decides anything.
 * - A genuine seal is what the incident recorder wrote with `signEvent`: our layout, its real
 *   `type` first after id and source (`JSON.stringify` writes no duplicate key, and inside a JSON
 *   string every quote is escaped, so the first `","type":"` after two backslash-free strings is
 *   the key itself). So an unmodified genuine seal is always a candidate, whichever path it takes
 *   (a long id falls back to the scans, which find it as they always did), and is verified and
 *   checked. Nothing another entry contains changes that: each entry is judged on its own bytes.
 * - To make a genuine seal skipped, its bytes must change. Then it is an altered entry: its digest
 *   changes, the next genuine seal's window no longer continues the last checked one
 *   (`SEAL_DISCONTINUOUS`) and its recomputed head no longer matches (`CHAIN_MISMATCH`); if it was
 *   the last seal, everything after the previous seal is reported as an unsealed tail, exactly as
 *   if it had been deleted or overwritten with junk, which the old filter could not tell apart
 *   either. Removed, inserted and reordered entries are found by sequence and by the chain, which
 *   covers every entry whether or not it is a candidate.
 * - What is skipped is never trusted: a skipped entry is hashed and chained like any event, and
 *   only a seal that was verified moves the mark later seals must continue. A forged seal (wrong
 *   signer, unknown key) in our layout is still a candidate and still refused; one crafted to
 *   hide its type (a duplicate `type` key further on) is skipped, i.e. treated as the unverified
 *   event it is, and cannot make any genuine seal skipped or accepted.
 */
function mayBeSeal(bytes: Uint8Array): boolean {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const claimed = typeInOurLayout(view);
  if (claimed !== null) return claimed;
  return view.includes(SEAL_TYPE_BYTES) || SEAL_NEEDLES.some((needle) => view.includes(needle));
}

/**
 * For bytes in our writer's layout: whether the payload's `type` is the seal type. Null when the
 * bytes are not in that layout within the first `PREFIX_CHARS` of the payload (then scan).
 */
function typeInOurLayout(view: Buffer): boolean | null {
  const start = ENVELOPE_HEAD.length;
  if (view.length < start + PREFIX_CHARS) return null;
  if (view.compare(ENVELOPE_HEAD, 0, start, 0, start) !== 0) return null;
  // Only payload characters are decoded: the payload's closing quote must come after them.
  if (view.indexOf(QUOTE, start) < start + PREFIX_CHARS) return null;
  const prefix = Buffer.from(view.toString('latin1', start, start + PREFIX_CHARS), 'base64');
  if (prefix.compare(EVENT_HEAD, 0, EVENT_HEAD.length, 0, EVENT_HEAD.length) !== 0) return null;
  const idEnd = plainStringEnd(prefix, EVENT_HEAD.length);
  if (idEnd < 0 || !startsWithAt(prefix, ID_TO_SOURCE, idEnd)) return null;
  const sourceEnd = plainStringEnd(prefix, idEnd + ID_TO_SOURCE.length);
  if (sourceEnd < 0 || !startsWithAt(prefix, SOURCE_TO_TYPE, sourceEnd)) return null;
  const typeStart = sourceEnd + SOURCE_TO_TYPE.length;
  // The decoded prefix must hold the whole claimed type and its closing quote.
  const typeEnd = plainStringEnd(prefix, typeStart);
  if (typeEnd < 0) return null;
  return (
    typeEnd - typeStart === SEAL_TYPE.length && startsWithAt(prefix, SEAL_TYPE_QUOTED, typeStart)
  );
}

/** Index of the quote closing a JSON string body starting at `from`; -1 at a backslash or the end. */
function plainStringEnd(bytes: Buffer, from: number): number {
  for (let i = from; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) return i;
    if (byte === BACKSLASH) return -1;
  }
  return -1;
}

function startsWithAt(bytes: Buffer, part: Buffer, at: number): boolean {
  return (
    at + part.length <= bytes.length &&
    bytes.compare(part, 0, part.length, at, at + part.length) === 0
  );
}

/**
 * The type an entry claims, read without checking its signature; `MALFORMED_SEAL` for bytes
 * that cannot be decoded but mention the seal type, null for other unreadable bytes.
 */
function sealClaim(bytes: Uint8Array): string | typeof MALFORMED_SEAL | null {
  let envelope: DsseEnvelope;
  try {
    envelope = parseEnvelope(bytes);
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return mentionsSeal(bytes) || mentionsSeal(loosePayload(bytes)) ? MALFORMED_SEAL : null;
  }
  try {
    return decodePayload(envelope).type;
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return mentionsSeal(Buffer.from(envelope.payload, 'base64')) ? MALFORMED_SEAL : null;
  }
}

/** The payload of something envelope-like that `parseEnvelope` refused, decoded as best we can. */
function loosePayload(bytes: Uint8Array): Uint8Array {
  try {
    const value: unknown = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
    );
    if (
      typeof value === 'object' &&
      value !== null &&
      'payload' in value &&
      typeof value.payload === 'string'
    ) {
      return Buffer.from(value.payload, 'base64');
    }
  } catch {
    // Not JSON at all: the raw bytes were all there was to search.
  }
  return new Uint8Array(0);
}

function mentionsSeal(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(SEAL_TYPE_BYTES);
}

/** Head after `toSeq` recomputed from `previousHead` at `fromSeq - 1`; null when an entry is missing. */
function recomputeWindow(
  store: HeadStore,
  previousHead: Buffer,
  fromSeq: number,
  toSeq: number,
): string | null {
  let head = previousHead;
  for (let seq = fromSeq; seq <= toSeq; seq += 1) {
    const digest = store.digest(seq);
    if (digest === null) return null;
    head = linkDigest(head, seq, digest);
  }
  return head.toString('hex');
}

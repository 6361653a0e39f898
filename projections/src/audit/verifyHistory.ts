import {
  EnvelopeError,
  decodePayload,
  parseEnvelope,
  verifyEnvelope,
  type DsseEnvelope,
  type EventData,
  type TrustStore,
} from '@secai/contracts';
import { GENESIS_HEAD, entryDigest, headBytes, linkDigest } from '../chain/index.js';
import type { HistoryReport, VerificationCode, VerificationFailure } from './codes.js';
import { HeadStore } from './headStore.js';

export const SEAL_TYPE = 'audit.checkpoint.sealed';
type SealData = EventData<'audit.checkpoint.sealed'>;

/** One stored entry: its stream sequence and the envelope bytes exactly as stored. */
export interface HistoryEntry {
  seq: number;
  bytes: Uint8Array;
}

export interface VerifyHistoryOptions {
  trust: TrustStore;
  /** Verify every envelope (slow), not only the chain and the seals (fast). */
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

  /** Verifies an envelope, recording a refusal as a failure; returns the event data or null. */
  const verify = (seq: number, bytes: Uint8Array): { type: string; data: unknown } | null => {
    try {
      const { event } = verifyEnvelope(bytes, trust, { streamSeq: seq });
      return event;
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      fail(seq, error.code, error.message);
      return null;
    }
  };

  const take = (seq: number, bytes: Uint8Array): void => {
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
      if (signatures) verify(seq, bytes);
      return;
    }
    if (seq < previousSeq) fail(seq, 'SEQUENCE_ORDER', `seq ${seq} found after seq ${previousSeq}`);

    // Seals are always verified; other entries only with `signatures` (the slow mode).
    const type = signatures || !mayBeSeal(bytes) ? null : sealClaim(bytes);
    let seal: SealData | null = null;
    if (signatures || type === SEAL_TYPE) {
      const event = verify(seq, bytes);
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
    const { seq, bytes }: HistoryEntry = entry;
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
    take(seq, bytes);
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

/**
 * Cheap pre-filter before decoding: chain-only verification is bound by decoding every envelope
 * just to find the few seals. An entry that contains neither the seal type in clear (a malformed
 * claim) nor its base64 forms cannot be one of our seals.
 */
function mayBeSeal(bytes: Uint8Array): boolean {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.includes(SEAL_TYPE_BYTES) || SEAL_NEEDLES.some((needle) => view.includes(needle));
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

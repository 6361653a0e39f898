import type { EnvelopeErrorCode } from '@secai/contracts';

/**
 * The history and bundle checks' own failure codes, in the order the README lists them. Envelope
 * refusals keep the `EnvelopeError` code `verifyEnvelope` gave them.
 */
export const HISTORY_CODES = [
  /** A sequence is missing; `seq` is the first missing one. */
  'SEQUENCE_GAP',
  /** An entry came after a higher sequence (swapped or moved lines). */
  'SEQUENCE_ORDER',
  /** A sequence appeared a second time (an inserted line). */
  'SEQUENCE_DUPLICATE',
  /** A sequence that is not a positive integer. */
  'SEQUENCE_INVALID',
  /** The recomputed head differs from what a seal says (reported at the seal). */
  'CHAIN_MISMATCH',
  /** A seal does not continue the previous one (window or previous head). */
  'SEAL_DISCONTINUOUS',
  /** A seal contradicts itself (window order, count, or a window not before the seal). */
  'SEAL_INVALID',
  /** The chain does not start at genesis and no seal vouches for its start head. */
  'CHAIN_START_UNANCHORED',
  /** The bundle's root is not the one the caller pinned. */
  'ROOT_MISMATCH',
  /** The bundle's trust material cannot be loaded (bad chain, expired, corrupt). */
  'TRUST_INVALID',
  /** The entries run past the bundle header's range. */
  'BUNDLE_HEADER_MISMATCH',
  /** A verified event repeats the id of an earlier verified event (signature mode only). */
  'EVENT_ID_DUPLICATE',
] as const;

export type HistoryCode = (typeof HISTORY_CODES)[number];

/** Every reason a history or bundle check fails. */
export type VerificationCode = EnvelopeErrorCode | HistoryCode;

export interface VerificationFailure {
  seq: number;
  code: VerificationCode;
  message: string;
}

/** Outcome of `verifyHistory`: every failure found, not just the first. */
export interface HistoryReport {
  ok: boolean;
  /** Entries read (duplicates and misplaced ones included). */
  checked: number;
  /** Seals whose signature verified and whose window was checked. */
  seals: number;
  /** First and last sequence chained, null when nothing was. */
  firstSeq: number | null;
  lastSeq: number | null;
  /** Recomputed head after `lastSeq` (the start head when nothing was chained). */
  head: string;
  /** Sorted by sequence. */
  failures: VerificationFailure[];
  warnings: string[];
  /** Chained entries after the last seal's window: not tampered with as far as we know, not proven either. */
  unsealedTail: { fromSeq: number; toSeq: number; count: number } | null;
}

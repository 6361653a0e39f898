import { hash } from 'node:crypto';
import { BaseError } from '@secai/contracts';

/** Head of the chain before sequence 1: 32 zero bytes, in hex. */
export const GENESIS_HEAD = '0'.repeat(64);

const HEAD_HEX = /^[0-9a-f]{64}$/;
const TWO_32 = 2 ** 32;

export type ChainErrorCode = 'CHAIN_HEAD_INVALID' | 'CHAIN_SEQ_INVALID' | 'CHAIN_ORDER';

/** A chain asked to do something that would make it meaningless (a bad head, a step back). */
export class ChainError extends BaseError<ChainErrorCode> {}

// One scratch buffer for the 72 bytes of every link: hashing is synchronous, nothing interleaves.
const scratch = Buffer.alloc(72);

/** SHA-256 of the envelope bytes exactly as stored (the per-entry digest the chain covers). */
export function entryDigest(bytes: Uint8Array): Buffer {
  return hash('sha256', bytes, 'buffer');
}

/**
 * One link from raw parts: SHA-256(previous head (32 bytes) || seq (8 bytes, big-endian) ||
 * entry digest (32 bytes)). Returns the new head as 32 raw bytes.
 */
export function linkDigest(previousHead: Uint8Array, seq: number, digest: Uint8Array): Buffer {
  checkSeq(seq);
  if (previousHead.length !== 32 || digest.length !== 32) {
    throw new ChainError('CHAIN_HEAD_INVALID', 'heads and digests are 32 bytes');
  }
  scratch.set(previousHead, 0);
  scratch.writeUInt32BE(Math.floor(seq / TWO_32), 32);
  scratch.writeUInt32BE(seq % TWO_32, 36);
  scratch.set(digest, 40);
  return hash('sha256', scratch, 'buffer');
}

/**
 * The head after the entry at `seq`: hex SHA-256 over the previous head (32 raw bytes), `seq`
 * as 8-byte big-endian and the SHA-256 of the envelope bytes exactly as stored.
 * @example
 * const head1 = chainLink(GENESIS_HEAD, 1, bytesOfSeq1);
 */
export function chainLink(previousHeadHex: string, seq: number, envelopeBytes: Uint8Array): string {
  return linkDigest(headBytes(previousHeadHex), seq, entryDigest(envelopeBytes)).toString('hex');
}

/** Raw bytes of a hex head, refusing anything that is not 64 lowercase hex digits. */
export function headBytes(headHex: string): Buffer {
  if (!HEAD_HEX.test(headHex)) {
    throw new ChainError('CHAIN_HEAD_INVALID', 'a chain head is 64 lowercase hex digits');
  }
  return Buffer.from(headHex, 'hex');
}

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new ChainError(
      'CHAIN_SEQ_INVALID',
      `stream sequence ${String(seq)} is not a positive integer`,
    );
  }
}

/**
 * Builds the chain entry by entry in stream order. Sequences must increase; gaps are allowed
 * here (the verifier, not the builder, decides whether a gap is acceptable).
 */
export class ChainBuilder {
  #head: Buffer;
  #headHex: string | null;
  #lastSeq: number;
  #count = 0;

  /** Starts at the genesis head (seq 0), or at a known `{ seq, head }` to continue a chain. */
  constructor(start: { seq: number; head: string } = { seq: 0, head: GENESIS_HEAD }) {
    if (!Number.isSafeInteger(start.seq) || start.seq < 0) {
      throw new ChainError('CHAIN_SEQ_INVALID', `start sequence ${String(start.seq)} is not valid`);
    }
    this.#head = headBytes(start.head);
    this.#headHex = start.head;
    this.#lastSeq = start.seq;
  }

  /** Head after the last appended entry (the start head before any), in hex. */
  get head(): string {
    this.#headHex ??= this.#head.toString('hex');
    return this.#headHex;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Entries appended to this builder. */
  get count(): number {
    return this.#count;
  }

  /** Chains the envelope bytes stored at `seq` and returns the new head (hex). */
  append(seq: number, bytes: Uint8Array): string {
    this.appendDigest(seq, entryDigest(bytes));
    return this.head;
  }

  /** Chains an entry whose envelope digest (`entryDigest`) is already known. */
  appendDigest(seq: number, digest: Uint8Array): void {
    if (seq <= this.#lastSeq) {
      throw new ChainError('CHAIN_ORDER', `sequence ${seq} does not follow ${this.#lastSeq}`);
    }
    this.#head = linkDigest(this.#head, seq, digest);
    this.#headHex = null;
    this.#lastSeq = seq;
    this.#count += 1;
  }
}

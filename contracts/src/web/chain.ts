import { BaseError } from '../errors.js';
import { hexOf } from '../identity/certificateRules.js';

/*
 * The audit chain's link rule with WebCrypto, giving the heads projections/src/chain/chain.ts
 * gives, so the page can check a range of the stream against an `audit.checkpoint.sealed`.
 */

/** Head of the chain before sequence 1: 32 zero bytes, in hex. */
export const GENESIS_HEAD = '0'.repeat(64);

const HEAD_HEX = /^[0-9a-f]{64}$/;
const TWO_32 = 2 ** 32;

export type WebChainErrorCode = 'CHAIN_HEAD_INVALID' | 'CHAIN_SEQ_INVALID';

/** The same refusals as projections' `ChainError` (a bad head, a bad sequence). */
export class WebChainError extends BaseError<WebChainErrorCode> {}

/** SHA-256 of the envelope bytes exactly as stored (the per-entry digest the chain covers). */
export async function entryDigestWeb(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', copy(bytes)));
}

/**
 * The head after the entry at `seq`: hex SHA-256 over the previous head (32 raw bytes), `seq` as
 * 8-byte big-endian and the entry digest (`entryDigestWeb` of the envelope bytes).
 */
export async function linkHeadWeb(
  previousHeadHex: string,
  seq: number,
  digest: Uint8Array,
): Promise<string> {
  if (!HEAD_HEX.test(previousHeadHex)) {
    throw new WebChainError('CHAIN_HEAD_INVALID', 'a chain head is 64 lowercase hex digits');
  }
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new WebChainError(
      'CHAIN_SEQ_INVALID',
      `stream sequence ${String(seq)} is not a positive integer`,
    );
  }
  if (digest.length !== 32) {
    throw new WebChainError('CHAIN_HEAD_INVALID', 'heads and digests are 32 bytes');
  }
  const link = new Uint8Array(72);
  for (let i = 0; i < 32; i++) link[i] = parseInt(previousHeadHex.slice(i * 2, i * 2 + 2), 16);
  const view = new DataView(link.buffer);
  view.setUint32(32, Math.floor(seq / TWO_32));
  view.setUint32(36, seq % TWO_32);
  link.set(digest, 40);
  return hexOf(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', link)));
}

/** `linkHeadWeb(previousHeadHex, seq, await entryDigestWeb(envelopeBytes))`. */
export async function chainLinkWeb(
  previousHeadHex: string,
  seq: number,
  envelopeBytes: Uint8Array,
): Promise<string> {
  return linkHeadWeb(previousHeadHex, seq, await entryDigestWeb(envelopeBytes));
}

/** `sha256:<hex>` of the envelope bytes, as the node `envelopeDigest` gives. */
export async function envelopeDigestWeb(bytes: Uint8Array): Promise<string> {
  return `sha256:${hexOf(await entryDigestWeb(bytes))}`;
}

/** WebCrypto wants an ArrayBuffer-backed view; a copy also detaches us from the caller's buffer. */
function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

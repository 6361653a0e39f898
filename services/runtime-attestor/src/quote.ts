import { sha256Hex } from '@secai/contracts';

// The TPM's own quote format, read without any tool: a TPMS_ATTEST structure (TPM 2.0 Library,
// Part 2, §10.12.12) of type TPM_ST_ATTEST_QUOTE, big-endian throughout. The decider checks the
// nonce (`extraData`), the PCR selection and the PCR digest from these bytes itself, on top of
// what `tpm2_checkquote` reports. Pure: no I/O.

/** `TPM_GENERATED_VALUE`: every structure the TPM signs starts with it. */
export const TPM_GENERATED = 0xff544347;
/** `TPM_ST_ATTEST_QUOTE`. */
export const TPM_ST_ATTEST_QUOTE = 0x8018;

/** Hash algorithms of the PCR banks, by TPM_ALG_ID. */
export const PCR_BANKS = { sha1: 0x0004, sha256: 0x000b, sha384: 0x000c, sha512: 0x000d } as const;
export type PcrBank = keyof typeof PCR_BANKS;

/** The only bank attested here: enrolled values are SHA-256 (the `PcrValue` contract). */
export const PCR_BANK: PcrBank = 'sha256';

export interface PcrSelectionOf {
  bank: PcrBank | `alg_0x${string}`;
  pcrs: number[];
}

/** What a quote says, as hex and numbers. */
export interface QuoteInfo {
  /** Qualified name of the signing key (hex). */
  qualifiedSigner: string;
  /** The caller's challenge the TPM signed (hex): must equal the nonce sent. */
  extraData: string;
  /** Milliseconds the TPM has been powered (decimal string: a 64-bit counter). */
  clock: string;
  resetCount: number;
  restartCount: number;
  safe: boolean;
  /** Vendor firmware version (16 hex digits). */
  firmwareVersion: string;
  selections: PcrSelectionOf[];
  /** Digest over the selected PCR values, in selection order (hex). */
  pcrDigest: string;
}

export class QuoteFormatError extends Error {
  readonly code = 'QUOTE_MALFORMED';
  constructor(message: string) {
    super(message);
    this.name = 'QuoteFormatError';
  }
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex))
    throw new QuoteFormatError('not an even-length hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

class Reader {
  #offset = 0;
  readonly #view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  #need(n: number, what: string): void {
    if (this.#offset + n > this.bytes.length)
      throw new QuoteFormatError(`quote truncated while reading ${what}`);
  }
  u8(what: string): number {
    this.#need(1, what);
    return this.#view.getUint8(this.#offset++);
  }
  u16(what: string): number {
    this.#need(2, what);
    const v = this.#view.getUint16(this.#offset);
    this.#offset += 2;
    return v;
  }
  u32(what: string): number {
    this.#need(4, what);
    const v = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return v;
  }
  u64(what: string): bigint {
    this.#need(8, what);
    const v = this.#view.getBigUint64(this.#offset);
    this.#offset += 8;
    return v;
  }
  bytesOf(n: number, what: string): Uint8Array {
    this.#need(n, what);
    const v = this.bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return v;
  }
  /** A TPM2B: a 16-bit size, then that many bytes. */
  sized(what: string, max: number): Uint8Array {
    const n = this.u16(`${what} size`);
    if (n > max) throw new QuoteFormatError(`${what} is ${n} bytes; at most ${max} expected`);
    return this.bytesOf(n, what);
  }
  get done(): boolean {
    return this.#offset === this.bytes.length;
  }
}

function bankOf(alg: number): PcrSelectionOf['bank'] {
  for (const [name, id] of Object.entries(PCR_BANKS)) if (id === alg) return name as PcrBank;
  return `alg_0x${alg.toString(16).padStart(4, '0')}`;
}

/** Parses the quoted message (`tpm2_quote -m`). Throws `QuoteFormatError` on anything unexpected. */
export function parseQuote(message: Uint8Array): QuoteInfo {
  if (message.length > 4096) throw new QuoteFormatError('quote message larger than 4096 bytes');
  const r = new Reader(message);
  if (r.u32('magic') !== TPM_GENERATED)
    throw new QuoteFormatError('not a TPM-generated structure (magic)');
  const type = r.u16('type');
  if (type !== TPM_ST_ATTEST_QUOTE)
    throw new QuoteFormatError(`not a quote (attestation type 0x${type.toString(16)})`);
  const qualifiedSigner = toHex(r.sized('qualifiedSigner', 68));
  const extraData = toHex(r.sized('extraData', 64));
  const clock = r.u64('clock').toString();
  const resetCount = r.u32('resetCount');
  const restartCount = r.u32('restartCount');
  const safe = r.u8('safe');
  if (safe > 1) throw new QuoteFormatError('clockInfo.safe is not a boolean');
  const firmwareVersion = r.u64('firmwareVersion').toString(16).padStart(16, '0');
  const count = r.u32('pcrSelect count');
  if (count > 16) throw new QuoteFormatError(`${count} PCR selections; at most 16 expected`);
  const selections: PcrSelectionOf[] = [];
  for (let i = 0; i < count; i++) {
    const bank = bankOf(r.u16('pcrSelect hash'));
    const size = r.u8('sizeofSelect');
    if (size > 8) throw new QuoteFormatError(`sizeofSelect ${size}; at most 8 expected`);
    const bits = r.bytesOf(size, 'pcrSelect');
    const pcrs: number[] = [];
    bits.forEach((byte, octet) => {
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) pcrs.push(octet * 8 + bit);
    });
    selections.push({ bank, pcrs });
  }
  const pcrDigest = toHex(r.sized('pcrDigest', 64));
  if (!r.done) throw new QuoteFormatError('trailing bytes after the quote');
  return {
    qualifiedSigner,
    extraData,
    clock,
    resetCount,
    restartCount,
    safe: safe === 1,
    firmwareVersion,
    selections,
    pcrDigest,
  };
}

/** `sha256:0,2,4,7`, the tpm2-tools and contract spelling of a selection. */
export function formatSelection(pcrs: readonly number[], bank: PcrBank = PCR_BANK): string {
  return `${bank}:${[...pcrs].sort((a, b) => a - b).join(',')}`;
}

/** The digest a TPM computes over PCR values (SHA-256 of their concatenation, in order). */
export function pcrDigestOf(values: readonly string[]): string {
  const bytes = values.map((v) => fromHex(v));
  const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    all.set(b, at);
    at += b.length;
  }
  return sha256Hex(all);
}

/**
 * PCR values from a tpm2-tools YAML listing (`tpm2_checkquote`, `tpm2_pcrread`):
 *
 *     pcrs:
 *       sha256:
 *         0 : 0x00…
 *
 * Only the lines of `bank`, each index once, 64 hex digits, lowercased. Throws on a duplicate
 * index or a malformed line inside the bank's block.
 */
export function parsePcrListing(text: string, bank: PcrBank = PCR_BANK): Map<number, string> {
  const values = new Map<number, string>();
  let inBank = false;
  let bankIndent = -1;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    const header = /^\s*([a-z0-9_]+):\s*$/.exec(line);
    if (header) {
      if (header[1] === bank) {
        inBank = true;
        bankIndent = indent;
      } else if (inBank && indent <= bankIndent) inBank = false;
      continue;
    }
    if (!inBank) continue;
    if (indent <= bankIndent) {
      inBank = false;
      continue;
    }
    const m = /^\s*(\d{1,2})\s*:\s*0x([0-9A-Fa-f]+)\s*$/.exec(line);
    if (!m)
      throw new QuoteFormatError(`unexpected line in the ${bank} PCR listing: ${line.trim()}`);
    const index = Number(m[1]);
    const value = m[2]!.toLowerCase();
    if (index > 23) throw new QuoteFormatError(`PCR ${index} out of range`);
    if (value.length !== 64) throw new QuoteFormatError(`PCR ${index} is not a SHA-256 value`);
    if (values.has(index)) throw new QuoteFormatError(`PCR ${index} listed twice`);
    values.set(index, value);
  }
  return values;
}

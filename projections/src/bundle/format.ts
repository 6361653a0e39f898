import type { TrustBundle } from '@secai/contracts';
import { BundleError } from './errors.js';

export const BUNDLE_FORMAT = 'secai-events-bundle';
export const BUNDLE_VERSION = 1;

/** Line 1 of a bundle. The entries that follow are `fromSeq..toSeq`, `count` of them. */
export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  /** ISO time of the export. */
  exportedAt: string;
  /** Stream the entries were read from. */
  stream: string;
  fromSeq: number;
  toSeq: number;
  count: number;
  /** Chain head before `fromSeq`: genesis at seq 0, else a head some seal in the bundle vouches for. */
  chainStart: { seq: number; head: string };
  /** Trust material to verify the envelopes with (the root is pinned by the verifier, not here). */
  trust: TrustBundle;
}

export interface BundleEntry {
  /** 1-based line number in the bundle file. */
  lineNo: number;
  seq: number;
  /** The envelope bytes exactly as stored in the stream. */
  bytes: Uint8Array;
}

const HEAD_HEX = /^[0-9a-f]{64}$/;
const ENTRY_PREFIX = Buffer.from('{"seq":');
const ENVELOPE_KEY = Buffer.from(',"envelope":');
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const CLOSE_BRACE = 0x7d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Digits of Number.MAX_SAFE_INTEGER. */
const MAX_SEQ_DIGITS = 16;

/** The header as line 1 of a bundle (newline included), keys in the documented order. */
export function bundleHeaderLine(header: BundleHeader): string {
  checkHeader(header, 1);
  const { format, version, exportedAt, stream, fromSeq, toSeq, count, chainStart, trust } = header;
  const ordered = {
    format,
    version,
    exportedAt,
    stream,
    fromSeq,
    toSeq,
    count,
    chainStart: { seq: chainStart.seq, head: chainStart.head },
    trust,
  };
  return `${JSON.stringify(ordered)}\n`;
}

/**
 * One entry line (newline included): `{"seq":<n>,"envelope":<bytes>}` with the stored envelope
 * bytes embedded verbatim, so a verifier recovers them by slicing, never by re-serialising.
 */
export function bundleEntryLine(seq: number, bytes: Uint8Array): Buffer {
  if (!isSeq(seq)) {
    throw new BundleError('BUNDLE_MALFORMED', `seq ${String(seq)} is not a positive integer`);
  }
  if (bytes.length === 0 || bytes.includes(NEWLINE)) {
    throw new BundleError('BUNDLE_MALFORMED', `envelope at seq ${seq} is empty or spans lines`);
  }
  return Buffer.concat([
    ENTRY_PREFIX,
    Buffer.from(String(seq)),
    ENVELOPE_KEY,
    bytes,
    Buffer.from('}\n'),
  ]);
}

/**
 * Splits an entry line back into its sequence and the exact envelope bytes (a view into
 * `line`). The envelope is not parsed here: bytes that are not even JSON still reach the
 * verifier, which reports them with their sequence.
 */
export function parseBundleEntryLine(
  line: Buffer | string,
  lineNo = 0,
): { seq: number; bytes: Buffer } {
  const buf = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  let end = buf.length;
  if (end > 0 && buf[end - 1] === NEWLINE) end -= 1;
  if (end > 0 && buf[end - 1] === CARRIAGE_RETURN) end -= 1;
  const malformed = (why: string): BundleError =>
    new BundleError('BUNDLE_MALFORMED', `entry line ${why}`, lineNo > 0 ? { lineNo } : {});

  if (!startsWithAt(buf, ENTRY_PREFIX, 0)) throw malformed('does not start with {"seq":');
  let at = ENTRY_PREFIX.length;
  const digitsFrom = at;
  while (at < end && (buf[at] ?? 0) >= DIGIT_0 && (buf[at] ?? 0) <= DIGIT_9) at += 1;
  const digits = buf.toString('latin1', digitsFrom, at);
  if (digits.length === 0 || digits.length > MAX_SEQ_DIGITS || digits.startsWith('0')) {
    throw malformed('has no valid seq');
  }
  const seq = Number(digits);
  if (!isSeq(seq)) throw malformed(`seq ${digits} is not a safe integer`);
  if (!startsWithAt(buf, ENVELOPE_KEY, at)) throw malformed('has no "envelope" after the seq');
  at += ENVELOPE_KEY.length;
  if (end - 1 <= at || buf[end - 1] !== CLOSE_BRACE)
    throw malformed('does not end with an envelope and }');
  return { seq, bytes: buf.subarray(at, end - 1) };
}

/** Parses and checks line 1 of a bundle. */
export function parseBundleHeaderLine(line: Buffer | string, lineNo = 1): BundleHeader {
  let value: unknown;
  try {
    value = JSON.parse(typeof line === 'string' ? line : line.toString('utf8'));
  } catch (cause) {
    throw new BundleError('BUNDLE_MALFORMED', 'header is not JSON', { lineNo, cause });
  }
  checkHeader(value, lineNo);
  return value;
}

function checkHeader(value: unknown, lineNo: number): asserts value is BundleHeader {
  const malformed = (why: string): BundleError =>
    new BundleError('BUNDLE_MALFORMED', `header ${why}`, { lineNo });
  if (!isRecord(value)) throw malformed('is not an object');
  if (value.format !== BUNDLE_FORMAT) throw malformed(`format is not ${BUNDLE_FORMAT}`);
  if (value.version !== BUNDLE_VERSION)
    throw malformed(`version ${String(value.version)} is not supported`);
  if (typeof value.exportedAt !== 'string' || Number.isNaN(Date.parse(value.exportedAt))) {
    throw malformed('exportedAt is not a time');
  }
  if (typeof value.stream !== 'string' || value.stream === '') throw malformed('stream is missing');
  const { fromSeq, toSeq, count, chainStart, trust } = value;
  if (
    !isRecord(chainStart) ||
    !isSeqOrZero(chainStart.seq) ||
    typeof chainStart.head !== 'string' ||
    !HEAD_HEX.test(chainStart.head)
  ) {
    throw malformed('chainStart must be { seq, head } with a 64-hex head');
  }
  if (!isSeq(fromSeq) || !isSeqOrZero(toSeq) || !isSeqOrZero(count)) {
    throw malformed('fromSeq, toSeq and count must be integers');
  }
  if (fromSeq !== chainStart.seq + 1 || toSeq < chainStart.seq || count !== toSeq - fromSeq + 1) {
    throw malformed(
      `range ${fromSeq}..${toSeq} (count ${count}) does not follow chainStart ${chainStart.seq}`,
    );
  }
  if (
    !isRecord(trust) ||
    trust.version !== 1 ||
    typeof trust.root !== 'string' ||
    !Array.isArray(trust.certificates) ||
    !Array.isArray(trust.revocations)
  ) {
    throw malformed('trust is not a version 1 trust bundle');
  }
}

function startsWithAt(buf: Buffer, prefix: Buffer, at: number): boolean {
  return buf.length >= at + prefix.length && buf.subarray(at, at + prefix.length).equals(prefix);
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

function isSeqOrZero(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

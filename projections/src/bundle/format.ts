import type { TrustBundle } from '@secai/contracts';
import { BundleError } from './errors.js';

export const BUNDLE_FORMAT = 'secai-events-bundle';
/** Version written. 2 carries each entry's NATS subject and type header, and any bytes (base64). */
export const BUNDLE_VERSION = 2;
/** Versions read: 1 (envelope bytes only, embedded verbatim) is still verified. */
export const BUNDLE_VERSIONS_READ = [1, 2] as const;
export type BundleVersion = (typeof BUNDLE_VERSIONS_READ)[number];

/** Line 1 of a bundle. The entries that follow are `fromSeq..toSeq`, `count` of them. */
export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  version: BundleVersion;
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

/** One stored message, as a bundle writer takes it. */
export interface StoredBundleEntry {
  seq: number;
  /** The NATS subject it was stored on. */
  subject: string;
  /** Its `Secai-Type` header, when it had one (unverified, checked against the signed type). */
  type?: string | undefined;
  /** The envelope bytes exactly as stored in the stream. */
  bytes: Uint8Array;
}

/** One entry as read back from a bundle. */
export interface BundleEntry {
  /** 1-based line number in the bundle file. */
  lineNo: number;
  seq: number;
  /** The NATS subject it was stored on; absent in a version 1 bundle (which did not carry it). */
  subject?: string;
  /** Its type header, when it had one. */
  type?: string;
  /** The envelope bytes exactly as stored in the stream. */
  bytes: Uint8Array;
  /** True when the line carried the bytes base64-encoded (they could not be embedded verbatim). */
  encoded: boolean;
}

const HEAD_HEX = /^[0-9a-f]{64}$/;
const ENTRY_PREFIX = Buffer.from('{"seq":');
const ENVELOPE_KEY = Buffer.from(',"envelope":');
const SUBJECT_KEY = Buffer.from(',"subject":');
const TYPE_KEY = Buffer.from(',"type":');
const BASE64_KEY = Buffer.from(',"base64":"');
const BASE64_END = Buffer.from('"}');
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const utf8 = new TextDecoder('utf-8', { fatal: true });
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
 * One version 2 entry line (newline included). Stored bytes that are one line of JSON are
 * embedded verbatim, so a verifier recovers them by slicing, never by re-serialising:
 *
 *     {"seq":<n>,"subject":"<subject>","type":"<header>","envelope":<bytes>}
 *
 * Any other bytes (empty, spanning lines, not JSON: what a forger may store) are evidence too and
 * are carried base64-encoded, so every entry fits one line: `{"seq":<n>,"subject":…,"base64":"…"}`.
 * `type` is left out when the message had no type header.
 */
export function bundleEntryLine(entry: StoredBundleEntry): Buffer {
  const { seq, subject, type, bytes } = entry;
  checkSeq(seq);
  if (typeof subject !== 'string' || subject === '') {
    throw new BundleError('BUNDLE_MALFORMED', `entry at seq ${seq} has no subject`);
  }
  const parts: Uint8Array[] = [
    ENTRY_PREFIX,
    Buffer.from(String(seq)),
    SUBJECT_KEY,
    Buffer.from(JSON.stringify(subject)),
  ];
  if (type !== undefined) parts.push(TYPE_KEY, Buffer.from(JSON.stringify(type)));
  if (embeddable(bytes)) parts.push(ENVELOPE_KEY, bytes, Buffer.from('}\n'));
  else
    parts.push(BASE64_KEY, Buffer.from(Buffer.from(bytes).toString('base64')), Buffer.from('"}\n'));
  return Buffer.concat(parts);
}

/**
 * A version 1 entry line, `{"seq":<n>,"envelope":<bytes>}`: what bundles held before version 2.
 * Kept to write test archives in the old format (the readers still accept it); refuses bytes
 * that cannot be embedded, as version 1 did.
 */
export function bundleEntryLineV1(seq: number, bytes: Uint8Array): Buffer {
  checkSeq(seq);
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
 * Whether stored bytes can stand verbatim as the line's last value: one JSON value on one line.
 * Everything else is base64, so a line is always JSON whatever a forger stored.
 */
function embeddable(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.includes(NEWLINE) || bytes.includes(CARRIAGE_RETURN)) {
    return false;
  }
  try {
    JSON.parse(utf8.decode(bytes));
    return true;
  } catch {
    return false;
  }
}

/**
 * Splits an entry line back into its parts; `bytes` is a view into `line` when embedded verbatim.
 * The envelope is not parsed here: bytes that are not an envelope still reach the verifier, which
 * reports them with their sequence. `version` is the bundle header's: version 1 lines carry only
 * `seq` and `envelope`, version 2 lines must carry the subject.
 */
export function parseBundleEntryLine(
  line: Buffer | string,
  lineNo = 0,
  version: BundleVersion = BUNDLE_VERSION,
): Omit<BundleEntry, 'lineNo'> {
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

  let subject: string | undefined;
  let type: string | undefined;
  if (version >= 2) {
    if (!startsWithAt(buf, SUBJECT_KEY, at)) throw malformed('has no "subject" after the seq');
    const read = jsonStringAt(buf, at + SUBJECT_KEY.length, end);
    if (read === null || read.value === '') throw malformed('has no valid subject');
    subject = read.value;
    at = read.next;
    if (startsWithAt(buf, TYPE_KEY, at)) {
      const typeRead = jsonStringAt(buf, at + TYPE_KEY.length, end);
      if (typeRead === null) throw malformed('has no valid type');
      type = typeRead.value;
      at = typeRead.next;
    }
    if (startsWithAt(buf, BASE64_KEY, at)) {
      const from = at + BASE64_KEY.length;
      if (end - BASE64_END.length < from || !startsWithAt(buf, BASE64_END, end - BASE64_END.length))
        throw malformed('does not end with base64 and "}');
      const text = buf.toString('latin1', from, end - BASE64_END.length);
      if (text.length % 4 !== 0 || !BASE64.test(text)) throw malformed('has invalid base64');
      const bytes = Buffer.from(text, 'base64');
      return { seq, subject, ...(type !== undefined ? { type } : {}), bytes, encoded: true };
    }
  }
  if (!startsWithAt(buf, ENVELOPE_KEY, at)) throw malformed('has no "envelope" where expected');
  at += ENVELOPE_KEY.length;
  if (end - 1 <= at || buf[end - 1] !== CLOSE_BRACE)
    throw malformed('does not end with an envelope and }');
  return {
    seq,
    ...(subject !== undefined ? { subject } : {}),
    ...(type !== undefined ? { type } : {}),
    bytes: buf.subarray(at, end - 1),
    encoded: false,
  };
}

/** The JSON string starting at `at` (its opening quote) and the index after its closing quote. */
function jsonStringAt(
  buf: Buffer,
  at: number,
  end: number,
): { value: string; next: number } | null {
  if (buf[at] !== QUOTE) return null;
  for (let i = at + 1; i < end; i += 1) {
    const byte = buf[i];
    if (byte === BACKSLASH) i += 1;
    else if (byte === QUOTE) {
      try {
        const value: unknown = JSON.parse(utf8.decode(buf.subarray(at, i + 1)));
        return typeof value === 'string' ? { value, next: i + 1 } : null;
      } catch {
        return null;
      }
    }
  }
  return null;
}

function checkSeq(seq: number): void {
  if (!isSeq(seq)) {
    throw new BundleError('BUNDLE_MALFORMED', `seq ${String(seq)} is not a positive integer`);
  }
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
  if (!(BUNDLE_VERSIONS_READ as readonly unknown[]).includes(value.version))
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

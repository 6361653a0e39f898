// Destination (URL) matching for the `egress` domain (reference §2.4 "Destination match").
//
// Pure functions: no DNS, no clock, no state. The WHATWG URL parser does the IDNA work (hosts
// come out as ASCII lowercase punycode), but it is lenient in ways that invite parser
// differentials: it percent-decodes hosts (`hugging%66ace.co`), reads `0x7f.1` as 127.0.0.1,
// resolves `%2e%2e` path segments itself, drops tabs and newlines, treats `\` as `/`, accepts
// `https:host` without slashes, and silently removes IDNA-ignored characters (soft hyphen,
// variation selectors). Anything the parser would have to rewrite is therefore refused before or
// after parsing. The component that actually fetches must use the normalised destination
// returned here, never the raw string.
//
// Differences from the original, on purpose:
// - A bare host entry means `https://host/` on port 443. The original compared the host name only
//   and ignored the port, so `huggingface.co` also allowed `http://huggingface.co:8080/`.
// - Scheme, host and port are compared exactly (after normalisation); the original compared
//   "host including port" case-insensitively as a string, so `:443` and the default differed.

import { domainToUnicode } from 'node:url';
import { findLookalike, lexicalNormalize } from '@secai/contracts';

export type DestinationRefusal =
  | 'empty'
  | 'too_long'
  | 'unparseable'
  | 'scheme'
  | 'userinfo_present'
  | 'host_invalid'
  | 'port_invalid'
  | 'encoded_path'
  | 'unicode_slash';

export type DestinationScheme = 'https' | 'http';

export interface Destination {
  readonly scheme: DestinationScheme;
  /** ASCII lowercase: a punycode host name without trailing dot, a dotted IPv4, or `[ipv6]`. */
  readonly host: string;
  readonly port: number;
  /** Lexically normalised path (no query, no fragment, percent escapes upper-cased). */
  readonly path: string;
}

export type ParsedDestination =
  | {
      readonly ok: true;
      readonly dest: Destination;
      readonly hadUserinfo: boolean;
      readonly hadQuery: boolean;
      readonly hadFragment: boolean;
    }
  | { readonly ok: false; readonly refusal: DestinationRefusal; readonly detail: string };

export interface DestinationListMatch {
  readonly refused: DestinationRefusal | null;
  /** The first entry (exactly as given) that allows the destination, or null. */
  readonly matched: string | null;
  readonly dest: Destination | null;
}

export const MAX_DESTINATION_LENGTH = 4096;
export const DEFAULT_PORTS: Readonly<Record<DestinationScheme, number>> = { https: 443, http: 80 };

/** Thrown by {@link normalizeDestinationEntry}: entries come from a validated policy. */
export class InvalidDestinationEntryError extends Error {
  readonly entry: string;
  readonly refusal: DestinationRefusal;
  readonly detail: string;
  constructor(entry: string, refusal: DestinationRefusal, detail: string) {
    super(`invalid destination entry ${JSON.stringify(entry)}: ${refusal} (${detail})`);
    this.name = 'InvalidDestinationEntryError';
    this.entry = entry;
    this.refusal = refusal;
    this.detail = detail;
  }
}

const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

function refuse(refusal: DestinationRefusal, detail: string): ParsedDestination {
  return { ok: false, refusal, detail };
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
// C0, space, DEL, C1, every Unicode space, format controls (bidi, zero-width, soft hyphen, BOM,
// tags), line/paragraph separators, noncharacters and U+FFFD.
const CONTROL_OR_SPACE =
  /[\p{Cc}\u0020\uFFFD\p{White_Space}\p{Cf}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]/u;
// The same, minus the plain space: `%20` in a path is ordinary.
const DECODED_CONTROL =
  /[\p{Cc}\uFFFD\p{Cf}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]|(?! )\p{White_Space}/u;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/;
const PORT = /^[1-9][0-9]{0,4}$/;

const stripOneTrailingDot = (h: string): string => (h.endsWith('.') ? h.slice(0, -1) : h);

/** Percent escapes in the raw path that would decode to traversal or to something we refuse. */
function encodedPathProblem(rawPath: string): string | null {
  for (let i = rawPath.indexOf('%'); i >= 0; i = rawPath.indexOf('%', i + 1)) {
    if (!/^%[0-9A-Fa-f]{2}/.test(rawPath.slice(i, i + 3))) {
      return `malformed percent escape ${JSON.stringify(rawPath.slice(i, i + 3))}`;
    }
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const pieces: string[] = [];
  for (const [run] of rawPath.matchAll(/(?:%[0-9A-Fa-f]{2})+/g)) {
    const bytes = Uint8Array.from(run.slice(1).split('%'), (h) => parseInt(h, 16));
    let decoded: string;
    try {
      decoded = decoder.decode(bytes);
    } catch {
      return `${run} is not valid UTF-8 (overlong or truncated sequence)`;
    }
    if (/[/\\.%]/.test(decoded)) return `${run} decodes to ${JSON.stringify(decoded)}`;
    const control = DECODED_CONTROL.exec(decoded);
    if (control !== null) {
      return `${run} decodes to control or invisible character ${hex(control[0].codePointAt(0) ?? 0)}`;
    }
    pieces.push(decoded);
  }
  if (pieces.length === 0) return null;
  // Look-alikes are judged on the whole decoded path, not run by run: a combining mark is only a
  // disguise where it attaches to '/' or '.', so it needs its neighbours (`etc%CC%81` is fine).
  let k = 0;
  const decodedPath = rawPath.replace(/(?:%[0-9A-Fa-f]{2})+/g, () => pieces[k++] ?? '');
  const look = findLookalike(decodedPath);
  if (look !== null) return `percent escapes decode to a look-alike: ${look.detail}`;
  return null;
}

/**
 * Parse and normalise a destination URL, or refuse it. Only `http` and `https`; userinfo is
 * parsed but only reported (matching ignores it, the caller decides); query and fragment are
 * reported and dropped. Never throws.
 */
export function parseDestination(raw: string): ParsedDestination {
  if (typeof raw !== 'string') return refuse('unparseable', `not a string (${typeof raw})`);
  if (raw.length === 0) return refuse('empty', 'empty destination');
  if (raw.length > MAX_DESTINATION_LENGTH) {
    return refuse('too_long', `${raw.length} > ${MAX_DESTINATION_LENGTH} characters`);
  }
  const surrogate = LONE_SURROGATE.exec(raw);
  if (surrogate !== null) return refuse('unparseable', `lone surrogate at ${surrogate.index}`);
  const control = CONTROL_OR_SPACE.exec(raw);
  if (control !== null) {
    return refuse(
      'unparseable',
      `control, space or invisible character ${hex(control[0].codePointAt(0) ?? 0)} at ${control.index}`,
    );
  }
  const sm = SCHEME.exec(raw);
  if (sm === null) return refuse('unparseable', 'no scheme (expected http:// or https://)');
  const scheme = (sm[1] ?? '').toLowerCase();
  if (scheme !== 'https' && scheme !== 'http')
    return refuse('scheme', `scheme ${JSON.stringify(scheme)} is not http or https`);
  if (raw.includes('\\')) return refuse('unparseable', 'backslash (URL parsers disagree on it)');
  const rest = raw.slice(sm[0].length);
  if (!rest.startsWith('//') || rest.startsWith('///')) {
    return refuse('unparseable', `expected ${scheme}://host`);
  }

  // Split the raw string the way the WHATWG parser does for special schemes (backslash is
  // already refused): the authority ends at the first '/', '?' or '#'.
  const afterSlashes = rest.slice(2);
  const authEnd = afterSlashes.search(/[/?#]/);
  const authority = authEnd < 0 ? afterSlashes : afterSlashes.slice(0, authEnd);
  const afterAuthority = authEnd < 0 ? '' : afterSlashes.slice(authEnd);
  const qf = afterAuthority.search(/[?#]/);
  const rawPath = qf < 0 ? afterAuthority : afterAuthority.slice(0, qf);
  const beforeQuery = raw.slice(0, raw.length - afterAuthority.length + rawPath.length);
  const fragmentAt = raw.indexOf('#');
  const hadFragment = fragmentAt >= 0;
  const hadQuery = (hadFragment ? raw.slice(0, fragmentAt) : raw).includes('?');

  const look = findLookalike(beforeQuery);
  if (look !== null) return refuse('unicode_slash', `${look.detail} at ${look.index}`);

  const at = authority.lastIndexOf('@');
  const hadUserinfo = at >= 0;
  const hostport = authority.slice(at + 1);
  let rawHost: string;
  let rawPort: string | null;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) return refuse('host_invalid', 'unterminated IPv6 literal');
    rawHost = hostport.slice(0, close + 1);
    const tail = hostport.slice(close + 1);
    if (tail !== '' && !tail.startsWith(':'))
      return refuse('host_invalid', `junk after IPv6 literal: ${JSON.stringify(tail)}`);
    rawPort = tail === '' ? null : tail.slice(1);
  } else {
    const colon = hostport.indexOf(':');
    rawHost = colon < 0 ? hostport : hostport.slice(0, colon);
    rawPort = colon < 0 ? null : hostport.slice(colon + 1);
  }
  if (rawHost === '') return refuse('host_invalid', 'empty host');
  if (rawHost.includes('%')) return refuse('host_invalid', 'percent-encoded host');
  if (rawPort !== null && (!PORT.test(rawPort) || Number(rawPort) > 65535)) {
    return refuse(
      'port_invalid',
      `port ${JSON.stringify(rawPort)} is not a canonical number in 1..65535`,
    );
  }
  const pathProblem = encodedPathProblem(rawPath);
  if (pathProblem !== null) return refuse('encoded_path', pathProblem);

  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('host_invalid', `the URL parser rejected host ${JSON.stringify(rawHost)}`);
  }
  if (url.protocol !== `${scheme}:`)
    return refuse('unparseable', `parser read scheme ${url.protocol}`);

  const host = stripOneTrailingDot(url.hostname);
  const wanted = stripOneTrailingDot(rawHost);
  if (/^\p{ASCII}*$/u.test(wanted)) {
    if (wanted.toLowerCase() !== host) {
      return refuse(
        'host_invalid',
        `host ${JSON.stringify(rawHost)} would be rewritten to ${JSON.stringify(host)}`,
      );
    }
  } else if (wanted.normalize('NFKC').toLowerCase() !== domainToUnicode(host)) {
    // IDNA may only do what NFKC + lower-casing does; anything else (ignored characters such as
    // variation selectors, combining grapheme joiners) is a disguise.
    return refuse(
      'host_invalid',
      `internationalised host ${JSON.stringify(rawHost)} is not in normal form`,
    );
  }
  if (!IPV4.test(host) && !IPV6.test(host)) {
    if (host.length > 253) return refuse('host_invalid', 'host longer than 253 characters');
    const bad = host.split('.').find((label) => !LDH_LABEL.test(label));
    if (bad !== undefined)
      return refuse('host_invalid', `invalid host label ${JSON.stringify(bad)}`);
  }

  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
  const path = lexicalNormalize(url.pathname.replace(/%[0-9a-f]{2}/gi, (e) => e.toUpperCase()));
  return { ok: true, dest: { scheme, host, port, path }, hadUserinfo, hadQuery, hadFragment };
}

/**
 * Normalise an allowlist entry: a full URL (`https://host[:port][/path]`) or a bare host name.
 * A bare host means `https://host/` on port 443 only (stricter than the original, which compared
 * the host name and ignored scheme and port). Entries may not carry userinfo, query or fragment.
 * @throws InvalidDestinationEntryError
 */
export function normalizeDestinationEntry(entry: string): Destination {
  if (typeof entry !== 'string' || entry === '') {
    throw new InvalidDestinationEntryError(String(entry), 'empty', 'empty entry');
  }
  let parsed: ParsedDestination;
  if (entry.includes('://')) {
    parsed = parseDestination(entry);
  } else {
    if (/[/?#@:\\]/.test(entry)) {
      throw new InvalidDestinationEntryError(
        entry,
        'unparseable',
        'a bare entry is a host name only; write a full URL for a port, path or scheme',
      );
    }
    parsed = parseDestination(`https://${entry}/`);
  }
  if (!parsed.ok) throw new InvalidDestinationEntryError(entry, parsed.refusal, parsed.detail);
  if (parsed.hadUserinfo)
    throw new InvalidDestinationEntryError(entry, 'userinfo_present', 'entries carry no userinfo');
  if (parsed.hadQuery || parsed.hadFragment) {
    throw new InvalidDestinationEntryError(
      entry,
      'unparseable',
      'entries carry no query or fragment',
    );
  }
  return parsed.dest;
}

/**
 * True iff `entry` allows `dest`: scheme, host and port exactly equal, and the entry path is
 * empty or `/` (any path) or a segment-boundary prefix of the destination path (`/org` allows
 * `/org` and `/org/x`, not `/organisation`). Both must come from this module.
 */
export function destinationAllowed(dest: Destination, entry: Destination): boolean {
  if (dest.scheme !== entry.scheme || dest.host !== entry.host || dest.port !== entry.port)
    return false;
  if (entry.path === '' || entry.path === '/') return true;
  return dest.path === entry.path || dest.path.startsWith(`${entry.path}/`);
}

/** `scheme://host[:port]path`, the port only when not the default; no userinfo, query, fragment. */
export function redactedDestination(dest: Destination): string {
  const port = dest.port === DEFAULT_PORTS[dest.scheme] ? '' : `:${dest.port}`;
  return `${dest.scheme}://${dest.host}${port}${dest.path}`;
}

/**
 * Parse `raw` and find the first entry allowing it. `matched` is the entry as written. Entries
 * may be strings (normalised here) or already normalised destinations.
 * @throws InvalidDestinationEntryError for an invalid entry (never for an invalid destination)
 */
export function matchDestinationList(
  raw: string,
  entries: readonly (string | Destination)[],
): DestinationListMatch {
  const p = parseDestination(raw);
  if (!p.ok) return { refused: p.refusal, matched: null, dest: null };
  for (const e of entries) {
    const entry = typeof e === 'string' ? normalizeDestinationEntry(e) : e;
    if (destinationAllowed(p.dest, entry)) {
      return {
        refused: null,
        matched: typeof e === 'string' ? e : redactedDestination(e),
        dest: p.dest,
      };
    }
  }
  return { refused: null, matched: null, dest: p.dest };
}

import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  destinationAllowed,
  normalizeDestinationEntry,
  normalizePath,
  normalizePattern,
  parseDestination,
  pathUnder,
  redactedDestination,
} from '../src/match/index.js';

const RUNS = { numRuns: 1000 } as const;
const PATH_REFUSALS = new Set([
  'empty',
  'too_long',
  'relative',
  'nul_or_control',
  'backslash',
  'percent_encoded',
  'unicode_slash',
  'overlong_utf8',
  'invalid_unicode',
]);
const DEST_REFUSALS = new Set([
  'empty',
  'too_long',
  'unparseable',
  'scheme',
  'userinfo_present',
  'host_invalid',
  'port_invalid',
  'encoded_path',
  'unicode_slash',
]);

// ---------------------------------------------------------------------------------------------
// Generators

const LOOKALIKES = [
  '\u2215',
  '\u2044',
  '\uFF0F',
  '\u29F8',
  '\u2571',
  '\uFE68',
  '\uFF3C',
  '\u2216',
  '\uFF0E',
  '\u2024',
  '\uFE52',
  '\u3002',
  '\u2025',
  '\u2026',
  '\uFF61',
  '\u0338',
  '\uFF05',
];
const PATH_TOKENS = [
  '/',
  '/',
  '/',
  '//',
  '.',
  '..',
  '...',
  '/./',
  '/../',
  'vault',
  'user_docs',
  'user_docs_evil',
  'workspace',
  'out',
  'etc',
  'shadow',
  'tmp',
  'a',
  'café',
  '~',
  ' ',
  '*',
  '**',
  '%',
  '%2e',
  '%2E',
  '%2f',
  '%2F',
  '%5c',
  '%252e',
  '%252f',
  '%c0%af',
  '%c0%ae',
  '%ef%bc%8f',
  '%u002e',
  '%00',
  '\\',
  '\u0000',
  '\n',
  '\u0085',
  '\u202E',
  '\u200B',
  '\uFFFD',
  '\u00C0\u00AF',
  '\uD800',
  '\uDC00',
  '\uFFFE',
  '\u0301',
  ...LOOKALIKES,
];
const pathTokens = fc
  .array(fc.constantFrom(...PATH_TOKENS), { maxLength: 24 })
  .map((a) => a.join(''));
// Mostly-benign paths with the occasional hostile token, so that acceptance is common enough for
// the "under an allowed root" property to be exercised hundreds of times per run.
const BENIGN = [
  '/',
  '/',
  '/',
  '//',
  '.',
  '..',
  '/./',
  '/../',
  'vault',
  'user_docs',
  'user_docs_evil',
  'workspace',
  'out',
  'tmp',
  'etc',
  'x',
];
const mostlyBenign = fc
  .array(
    fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...BENIGN) },
      { weight: 1, arbitrary: fc.constantFrom(...PATH_TOKENS) },
    ),
    { maxLength: 16 },
  )
  .map((a) => a.join(''));
const rooted = fc
  .tuple(
    fc.constantFrom('/', '/vault/user_docs/', '/workspace/out/', '/tmp/', ''),
    fc.oneof(pathTokens, mostlyBenign),
  )
  .map(([prefix, rest]) => prefix + rest);
const forUnder = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom('/', '/vault/user_docs/', '/workspace/out/', '/tmp/'), mostlyBenign)
      .map(([prefix, rest]) => prefix + rest),
  },
  { weight: 1, arbitrary: rooted },
  { weight: 1, arbitrary: pathTokens },
);
const surrogateHalf = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const anyUnit = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: surrogateHalf },
  { weight: 3, arbitrary: fc.constantFrom('/', '.', '%', '\\') },
);
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: anyUnit, maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
);
const nearLimit = fc.integer({ min: 4090, max: 4100 }).map((n) => `/${'a'.repeat(n - 1)}`);
const anyPath = fc.oneof(anyString, pathTokens, rooted, nearLimit);

// ---------------------------------------------------------------------------------------------
// Independent oracles (deliberately simple, and not sharing code with src/match)

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else return true;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/** True when the raw input contains a form the matcher must refuse. */
function oracleRefused(x: string): boolean {
  if (x.length === 0 || x.length > 4096) return true;
  if (!x.startsWith('/')) return true;
  if (x.includes('%') || x.includes('\\') || x.includes('\uFFFD')) return true;
  if (hasLoneSurrogate(x)) return true;
  for (const ch of x) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
    if (LOOKALIKES.includes(ch)) return true;
    const f = ch.normalize('NFKC');
    if (f !== ch && /[/\\.%]/.test(f)) return true;
  }
  return false;
}

const segments = (p: string): string[] => p.split('/').filter((s) => s !== '');
const oracleNormalize = (x: string): string => posix.resolve(x); // absolute input: no cwd involved

const ROOTS = ['/vault/user_docs/**', '/vault/user_docs', '/workspace/out/**', '/tmp', '/**'];
const oracleRoot = (p: string): string =>
  oracleNormalize(p.endsWith('/**') && p !== '/**' ? p.slice(0, -3) : p === '/**' ? '/' : p);

// ---------------------------------------------------------------------------------------------

describe('normalizePath (fuzz)', () => {
  it('(a) never throws, and every answer is well formed', () => {
    fc.assert(
      fc.property(anyPath, (x) => {
        const n = normalizePath(x);
        if (n.ok) {
          expect(n.path.startsWith('/')).toBe(true);
          expect(n.path === '/' || !n.path.endsWith('/')).toBe(true);
          expect(n.path.includes('//')).toBe(false);
          expect(segments(n.path).some((s) => s === '.' || s === '..')).toBe(false);
          expect(n.path.length).toBeLessThanOrEqual(x.length);
        } else {
          expect(PATH_REFUSALS.has(n.refusal)).toBe(true);
          expect(typeof n.detail).toBe('string');
          expect(n.detail.length).toBeGreaterThan(0);
        }
      }),
      RUNS,
    );
  });

  it('(a) refuses every input the oracle refuses, and otherwise agrees with path.posix.resolve', () => {
    fc.assert(
      fc.property(anyPath, (x) => {
        const n = normalizePath(x);
        if (oracleRefused(x)) expect(n.ok).toBe(false);
        if (n.ok) expect(n.path).toBe(oracleNormalize(x));
      }),
      RUNS,
    );
  });

  it('(b) whatever is under an allowed root is under it by segments and was not a refused form', () => {
    let under = 0;
    fc.assert(
      fc.property(forUnder, fc.constantFrom(...ROOTS), (x, root) => {
        const n = normalizePath(x);
        if (!n.ok || !pathUnder(n.path, normalizePattern(root))) return;
        under++;
        expect(oracleRefused(x)).toBe(false);
        const got = segments(oracleNormalize(x));
        const want = segments(oracleRoot(root));
        expect(got.slice(0, want.length)).toEqual(want);
      }),
      RUNS,
    );
    expect(under).toBeGreaterThan(100); // the property was actually exercised
  });

  it('(b) a look-alike sibling of an allowed root is never under it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('_evil', '-x', 'x', '.bak', ' ', '~'),
        pathTokens,
        (suffix, rest) => {
          const n = normalizePath(`/vault/user_docs${suffix}/${rest}`);
          if (n.ok && pathUnder(n.path, normalizePattern('/vault/user_docs/**'))) {
            // only possible by climbing out of the sibling with '..'
            expect(segments(n.path).slice(0, 2)).toEqual(['vault', 'user_docs']);
            expect(rest.includes('..')).toBe(true);
          }
        },
      ),
      RUNS,
    );
  });

  it('(c) normalisation is idempotent (paths and patterns)', () => {
    fc.assert(
      fc.property(anyPath, (x) => {
        const n = normalizePath(x);
        if (n.ok) expect(normalizePath(n.path)).toEqual(n);
        let p: string | null = null;
        try {
          p = normalizePattern(x);
        } catch {
          return;
        }
        expect(normalizePattern(p)).toBe(p);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Destinations

const ENTRIES = [
  'huggingface.co',
  'https://huggingface.co/org',
  'https://huggingface.co:8443/',
  'http://10.0.0.1:8080/',
  'https://bücher.de/',
  'https://[::1]/api',
];
const BASE_HOSTS = [
  'huggingface.co',
  'bücher.de',
  'xn--bcher-kva.de',
  '10.0.0.1',
  '[::1]',
  'evil.com',
];
const INSERTS = [
  '\u0430',
  '\u043E',
  '\u0435',
  '\u03BF',
  '\u0131',
  '\u017F',
  '\u212A',
  '\uFF48',
  '\u00AD',
  '\uFE0F',
  '\u034F',
  '\u200B',
  '\u200D',
  '.',
  '-',
  '_',
  '@',
  ':',
  '%2e',
  '%40',
  '\u3002',
  '\uFF0E',
  '\uFF20',
  '\u2215',
  'x',
  '0',
];
const hostMutation: fc.Arbitrary<(h: string) => string> = fc.oneof(
  fc.constant((h: string) => h),
  fc.constant((h: string) => h.toUpperCase()),
  fc.constant((h: string) => `${h}.`),
  fc.constant((h: string) => `${h}..`),
  fc.constantFrom('evil-', 'evil.', 'www.', 'a', '-', '0').map((p) => (h: string) => p + h),
  fc.constantFrom('.evil.com', '.co', 'm', '-', '.example').map((s) => (h: string) => h + s),
  fc.tuple(fc.nat(), fc.constantFrom(...INSERTS)).map(
    ([i, c]) =>
      (h: string) =>
        h.slice(0, i % (h.length + 1)) + c + h.slice(i % (h.length + 1)),
  ),
  fc.tuple(fc.nat(), fc.constantFrom(...INSERTS)).map(
    ([i, c]) =>
      (h: string) =>
        h.slice(0, i % h.length) + c + h.slice((i % h.length) + 1),
  ),
  fc
    .tuple(
      fc.constantFrom(...BASE_HOSTS),
      fc.constantFrom('@', ':443@', '%40', '\\@', '#@', '?@', '\uFF20'),
    )
    .chain(([other, sep]) =>
      fc.boolean().map((first) => (h: string) => (first ? h + sep + other : other + sep + h)),
    ),
);
const port = fc.constantFrom(
  '',
  '',
  '',
  ':443',
  ':8443',
  ':80',
  ':8080',
  ':0',
  ':0443',
  ':65536',
  ':',
);
const urlPath = fc.constantFrom(
  '',
  '/',
  '/org',
  '/org/',
  '/org/x',
  '/organisation',
  '/x/../org',
  '/org/../x',
  '/%2e%2e/org',
  '/org%2fx',
  '/api',
  '/api/v1',
  '/apis',
  '//org',
  '/./org',
  '?q=1',
  '#f',
  '/org?x=%2e#y',
);
const scheme = fc.constantFrom(
  'https://',
  'https://',
  'http://',
  'HTTPS://',
  'https:',
  'https:///',
  'ftp://',
);
const lookalikeUrl = fc
  .tuple(
    scheme,
    fc.constantFrom(...BASE_HOSTS),
    fc.array(hostMutation, { maxLength: 3 }),
    port,
    urlPath,
  )
  .map(([s, h, ms, p, path]) => s + ms.reduce<string>((acc, m) => m(acc), h) + p + path);
const anyUrl = fc.oneof(
  lookalikeUrl,
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.webUrl().map((u) => u.toUpperCase()),
  anyString,
  anyString.map((s) => `https://${s}`),
  pathTokens.map((s) => `https://huggingface.co/${s}`),
);

const oracleUrl = (
  s: string,
): { protocol: string; hostname: string; port: string; pathname: string } => {
  const u = new URL(s);
  const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
  return {
    protocol: u.protocol,
    hostname: u.hostname.replace(/\.$/, ''),
    port,
    pathname: u.pathname,
  };
};
const NORMALIZED_ENTRIES = ENTRIES.map((e) => ({
  raw: e,
  entry: normalizeDestinationEntry(e),
  oracle: oracleUrl(e.includes('://') ? e : `https://${e}/`),
}));

describe('parseDestination / destinationAllowed (fuzz)', () => {
  it('(d) parseDestination never throws, and every answer is well formed', () => {
    fc.assert(
      fc.property(anyUrl, (x) => {
        const p = parseDestination(x);
        if (!p.ok) {
          expect(DEST_REFUSALS.has(p.refusal)).toBe(true);
          expect(p.detail.length).toBeGreaterThan(0);
          return;
        }
        expect(['http', 'https']).toContain(p.dest.scheme);
        expect(p.dest.host).toMatch(/^[a-z0-9.\-[\]:]+$/);
        expect(p.dest.host.endsWith('.')).toBe(false);
        expect(Number.isInteger(p.dest.port) && p.dest.port >= 1 && p.dest.port <= 65535).toBe(
          true,
        );
        expect(p.dest.path.startsWith('/')).toBe(true);
        expect(segments(p.dest.path).some((s) => s === '.' || s === '..')).toBe(false);
      }),
      RUNS,
    );
  });

  it('(d) never allows a destination whose host, scheme or port differs from the entry (URL oracle)', () => {
    let allowedCount = 0;
    let lookalikeDenied = 0;
    fc.assert(
      fc.property(anyUrl, (x) => {
        const p = parseDestination(x);
        for (const { entry, oracle } of NORMALIZED_ENTRIES) {
          const ok = p.ok && destinationAllowed(p.dest, entry);
          if (!ok) {
            lookalikeDenied++;
            continue;
          }
          allowedCount++;
          const got = oracleUrl(x); // must parse, since we allowed it
          expect(got.hostname).toBe(oracle.hostname);
          expect(got.protocol).toBe(oracle.protocol);
          expect(got.port).toBe(oracle.port);
          const entryPath = oracle.pathname.replace(/\/$/, '');
          if (entryPath !== '') {
            const path = posix.resolve(got.pathname);
            expect(path === entryPath || path.startsWith(`${entryPath}/`)).toBe(true);
          }
        }
      }),
      RUNS,
    );
    expect(allowedCount).toBeGreaterThan(20); // the allow branch was exercised
    expect(lookalikeDenied).toBeGreaterThan(allowedCount);
  });

  it('(d) a host that differs from the entry host after IDNA never matches, whatever the mutation', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('huggingface.co', 'bücher.de'),
        fc.array(hostMutation, { minLength: 1, maxLength: 3 }),
        (h, ms) => {
          const raw = `https://${ms.reduce<string>((acc, m) => m(acc), h)}/`;
          const p = parseDestination(raw);
          if (!p.ok) return;
          const entry = normalizeDestinationEntry(h);
          let oracleHost: string;
          try {
            oracleHost = new URL(raw).hostname.replace(/\.$/, '');
          } catch {
            expect(destinationAllowed(p.dest, entry)).toBe(false);
            return;
          }
          if (oracleHost !== entry.host) expect(destinationAllowed(p.dest, entry)).toBe(false);
        },
      ),
      RUNS,
    );
  });

  it('(c) parse ∘ redact is idempotent', () => {
    fc.assert(
      fc.property(anyUrl, (x) => {
        const p = parseDestination(x);
        if (!p.ok) return;
        const again = parseDestination(redactedDestination(p.dest));
        expect(again.ok && again.dest).toEqual(p.dest);
      }),
      RUNS,
    );
  });
});

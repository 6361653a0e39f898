import { describe, expect, it } from 'vitest';
import {
  destinationAllowed,
  findLookalike,
  InvalidDestinationEntryError,
  InvalidPathPatternError,
  matchDestinationList,
  matchPathList,
  MAX_DESTINATION_LENGTH,
  MAX_PATH_LENGTH,
  normalizeDestinationEntry,
  normalizePath,
  normalizePattern,
  parseDestination,
  pathUnder,
  redactedDestination,
  type Destination,
  type DestinationRefusal,
  type PathRefusal,
} from '../src/match/index.js';

const cp = (n: number): string => String.fromCodePoint(n);
const refusalOf = (raw: string): PathRefusal | 'ok' => {
  const n = normalizePath(raw);
  return n.ok ? 'ok' : n.refusal;
};
const destRefusalOf = (raw: string): DestinationRefusal | 'ok' => {
  const p = parseDestination(raw);
  return p.ok ? 'ok' : p.refusal;
};
const dest = (raw: string): Destination => {
  const p = parseDestination(raw);
  if (!p.ok) throw new Error(`expected ${raw} to parse: ${p.refusal} ${p.detail}`);
  return p.dest;
};
const allowed = (raw: string, entry: string): boolean =>
  destinationAllowed(dest(raw), normalizeDestinationEntry(entry));

describe('normalizePath', () => {
  describe('lexical normalisation', () => {
    it.each([
      ['/vault/user_docs/../../../etc/shadow', '/etc/shadow'],
      ['/vault//user_docs/./x', '/vault/user_docs/x'],
      ['/../etc', '/etc'],
      ['/..', '/'],
      ['/../../..', '/'],
      ['/', '/'],
      ['//', '/'],
      ['///vault///', '/vault'],
      ['/vault/user_docs/', '/vault/user_docs'],
      ['/a/./b/../c', '/a/c'],
      ['/a/b/c/../../d/./e/..', '/a/d'],
      ['/.../x', '/.../x'],
      ['/a/..b/b../.x', '/a/..b/b../.x'],
    ])('%j → %j', (raw, expected) => {
      expect(normalizePath(raw)).toEqual({ ok: true, path: expected });
    });

    it('keeps legitimate Unicode names (NFC, NFD, scripts whose letters merely resemble a slash)', () => {
      for (const p of [
        '/docs/café',
        '/docs/cafe\u0301',
        '/docs/\u30CE\u30FC\u30C8',
        '/docs/\u4E3F',
        '/docs/x\u200Dy',
      ]) {
        expect(normalizePath(p)).toEqual({ ok: true, path: p });
      }
    });
  });

  describe('refusals (every reason, with the named adversarial forms)', () => {
    it.each<[string, string, PathRefusal]>([
      ['empty string', '', 'empty'],
      ['longer than 4096', `/${'a'.repeat(MAX_PATH_LENGTH)}`, 'too_long'],
      ['relative', 'etc/passwd', 'relative'],
      ['relative traversal', '../../etc/passwd', 'relative'],
      ['home-relative', '~/secrets', 'relative'],
      ['NUL alone', '\u0000', 'nul_or_control'],
      ['NUL truncation', '/vault/user_docs/x\u0000/../../etc/shadow', 'nul_or_control'],
      ['newline', '/vault/a\nb', 'nul_or_control'],
      ['DEL', '/vault/a\u007Fb', 'nul_or_control'],
      ['C1 NEL', '/vault/a\u0085b', 'nul_or_control'],
      ['bidi override', '/vault/\u202Efdp.exe', 'nul_or_control'],
      ['zero-width space', '/vault/user\u200B_docs', 'nul_or_control'],
      ['BOM', '/vault/\uFEFFx', 'nul_or_control'],
      ['line separator', '/vault/a\u2028b', 'nul_or_control'],
      ['tag character', `/vault/a${cp(0xe0041)}`, 'nul_or_control'],
      ['backslash traversal', '/vault/user_docs\\..\\..\\etc', 'backslash'],
      ['encoded traversal %2e%2e%2f', '%2e%2e%2f', 'percent_encoded'],
      [
        'encoded traversal inside an absolute path',
        '/vault/user_docs/%2e%2e/%2e%2e/etc/shadow',
        'percent_encoded',
      ],
      ['upper-case escapes', '/vault/user_docs/%2E%2E%2Fetc', 'percent_encoded'],
      ['double-encoded %252e%252e%252f', '%252e%252e%252f', 'percent_encoded'],
      ['overlong escape ..%c0%af', '..%c0%af', 'percent_encoded'],
      ['escaped fullwidth solidus ..%ef%bc%8f', '..%ef%bc%8f', 'percent_encoded'],
      ['IIS %u escape', '/vault/%u002e%u002e/etc', 'percent_encoded'],
      ['bare percent', '/vault/100%', 'percent_encoded'],
      ['fullwidth percent sign', '/vault/\uFF052e\uFF052e', 'percent_encoded'],
      ['small percent sign', '/vault/\uFE6A2e', 'percent_encoded'],
      [
        'division slash /vault/user_docs\u2215..\u2215etc',
        '/vault/user_docs\u2215..\u2215etc',
        'unicode_slash',
      ],
      ['combining mark on a dot', '/vault/.\u0301/etc', 'unicode_slash'],
      ['combining long solidus overlay', '/vault/a\u0338b', 'unicode_slash'],
      ['U+FFFD from lenient decoding', '/vault/\uFFFD\uFFFD/etc', 'overlong_utf8'],
      ['overlong C0 AF read as Latin-1', '/vault/..\u00C0\u00AF..\u00C0\u00AFetc', 'overlong_utf8'],
      ['overlong NUL C0 80 read as Latin-1', '/vault/x\u00C0\u0080', 'overlong_utf8'],
      ['overlong E0 80 AF read as Latin-1', '/vault/..\u00E0\u0080\u00AF', 'overlong_utf8'],
      ['lone high surrogate', '/vault/\uD800', 'invalid_unicode'],
      ['lone low surrogate', '/vault/\uDC00x', 'invalid_unicode'],
      ['noncharacter', '/vault/\uFFFE', 'invalid_unicode'],
      ['noncharacter block', '/vault/\uFDD0', 'invalid_unicode'],
    ])('%s → %s', (_name, raw, refusal) => {
      const n = normalizePath(raw);
      expect(n.ok).toBe(false);
      if (!n.ok) {
        expect(n.refusal).toBe(refusal);
        expect(n.detail.length).toBeGreaterThan(0);
      }
    });

    it('accepts exactly 4096 characters', () => {
      expect(normalizePath(`/${'a'.repeat(MAX_PATH_LENGTH - 1)}`).ok).toBe(true);
    });

    it('reports the most basic problem first (fixed check order)', () => {
      expect(refusalOf('\uD800%2e')).toBe('invalid_unicode');
      expect(refusalOf('/\uFFFD\u0000')).toBe('overlong_utf8');
      expect(refusalOf('/\u0000%2e')).toBe('nul_or_control');
      expect(refusalOf('/%2e\\')).toBe('percent_encoded');
      expect(refusalOf('/a\\\u2215')).toBe('backslash');
      expect(refusalOf('a\u2215b')).toBe('unicode_slash');
    });

    // The look-alikes named in the brief, each dropped between two '..' segments.
    const REQUIRED = [
      0x2215, 0x2044, 0xff0f, 0x29f8, 0x2571, 0xfe68, 0xff3c, 0x2216, 0xff0e, 0x2024, 0xfe52,
      0x3002,
    ];
    // Found by research: NFKC folds (‥ … ︙ ︰ ℀ ⒈ 🄀 …) and confusables that NFKC leaves alone.
    const RESEARCHED = [
      0x2025, 0x2026, 0xfe19, 0xfe30, 0x2100, 0x2101, 0x2105, 0x2106, 0x2488, 0x2491, 0x33c2,
      0x33c7, 0x1f100, 0x1735, 0x2041, 0x27cb, 0x27cd, 0x29f5, 0x29f9, 0x2afb, 0x2afd, 0x2f02,
      0x2f03, 0x3033, 0x31d3, 0x31d4, 0x244a, 0x2cf9, 0x0701, 0x0702, 0xa60e, 0xff61, 0x10a50,
      0x1d16d, 0x1d20f, 0x1d23a, 0x1d23b, 0xa4f8,
    ];
    it.each([...REQUIRED, ...RESEARCHED].map((c) => [c.toString(16).toUpperCase(), c]))(
      'refuses look-alike U+%s',
      (_hex, c) => {
        expect(refusalOf(`/vault/user_docs/..${cp(c)}..${cp(c)}etc`)).toBe('unicode_slash');
        expect(findLookalike(cp(c))).not.toBeNull();
      },
    );

    it('refuses every non-ASCII code point whose NFKC form adds / \\ or . (exhaustive scan)', () => {
      const missed: string[] = [];
      for (let c = 0x80; c <= 0x10ffff; c++) {
        if (c >= 0xd800 && c <= 0xdfff) continue;
        const folded = cp(c).normalize('NFKC');
        if (
          folded !== cp(c) &&
          /[/\\.]/.test(folded) &&
          refusalOf(`/x${cp(c)}y`) !== 'unicode_slash'
        ) {
          missed.push(c.toString(16));
        }
      }
      expect(missed).toEqual([]);
    });
  });
});

describe('normalizePattern', () => {
  it.each([
    ['/vault/user_docs/**', '/vault/user_docs'],
    ['/vault/user_docs**', '/vault/user_docs'],
    ['/vault/user_docs', '/vault/user_docs'],
    ['/vault/user_docs/', '/vault/user_docs'],
    ['/vault//user_docs/./**', '/vault/user_docs'],
    ['/a/../b/**', '/b'],
    ['/**', '/'],
    ['/', '/'],
  ])('%j → %j', (pattern, expected) => {
    expect(normalizePattern(pattern)).toBe(expected);
  });

  it.each([
    ['**', 'empty'],
    ['vault/**', 'relative'],
    ['', 'empty'],
    ['/a/*/b', 'glob'],
    ['/etc/*', 'glob'],
    ['/a/**/b/**', 'glob'],
    ['/a/%2e%2e/**', 'percent_encoded'],
    ['/a\u2215b', 'unicode_slash'],
  ])('throws on %j (%s)', (pattern, refusal) => {
    expect(() => normalizePattern(pattern)).toThrow(InvalidPathPatternError);
    try {
      normalizePattern(pattern);
    } catch (e) {
      expect((e as InvalidPathPatternError).refusal).toBe(refusal);
    }
  });
});

describe('pathUnder', () => {
  it.each([
    ['/vault/user_docs', '/vault/user_docs', true],
    ['/vault/user_docs/a/b', '/vault/user_docs', true],
    ['/vault/user_docs_evil', '/vault/user_docs', false],
    ['/vault/user_docs_evil/x', '/vault/user_docs', false],
    ['/vault/user', '/vault/user_docs', false],
    ['/vault', '/vault/user_docs', false],
    ['/etc/shadow', '/', true],
    ['/', '/', true],
    ['/', '/vault', false],
    ['vault/user_docs/x', '/vault/user_docs', false],
    ['/vault/user_docs/x', 'vault/user_docs', false],
  ])('%j under %j → %s', (path, pattern, expected) => {
    expect(pathUnder(path, pattern)).toBe(expected);
  });
});

describe('matchPathList', () => {
  const allow = ['/vault/user_docs/**', '/workspace/out'];

  it('judges traversal by where it lands', () => {
    expect(matchPathList('/vault/user_docs/../../../etc/shadow', allow)).toEqual({
      refused: null,
      matched: null,
      normalized: '/etc/shadow',
    });
    expect(matchPathList('/vault//user_docs/./x', allow)).toEqual({
      refused: null,
      matched: '/vault/user_docs/**',
      normalized: '/vault/user_docs/x',
    });
  });

  it('returns the first matching pattern as written', () => {
    expect(
      matchPathList('/workspace/out/a', ['/nope', '/workspace/**', '/workspace/out']).matched,
    ).toBe('/workspace/**');
  });

  it('does not match look-alike siblings', () => {
    expect(matchPathList('/vault/user_docs_evil/x', allow).matched).toBeNull();
  });

  it('reports refusals without matching', () => {
    expect(matchPathList('/vault/user_docs/%2e%2e/%2e%2e/etc', allow)).toEqual({
      refused: 'percent_encoded',
      matched: null,
      normalized: null,
    });
    expect(matchPathList('/vault/user_docs\u2215..\u2215etc', allow).refused).toBe('unicode_slash');
  });

  it('works as a denylist (a hit means deny)', () => {
    const deny = ['/vault/user_docs/secret/**'];
    expect(matchPathList('/vault/user_docs/public/../secret/key', deny).matched).toBe(deny[0]);
  });

  it('throws on an invalid pattern rather than silently not matching', () => {
    expect(() => matchPathList('/etc/passwd', ['/etc/*'])).toThrow(InvalidPathPatternError);
  });
});

describe('parseDestination', () => {
  it.each<[string, Destination]>([
    ['https://huggingface.co', { scheme: 'https', host: 'huggingface.co', port: 443, path: '/' }],
    [
      'HTTPS://HuggingFace.CO/x',
      { scheme: 'https', host: 'huggingface.co', port: 443, path: '/x' },
    ],
    [
      'https://huggingface.co:443/',
      { scheme: 'https', host: 'huggingface.co', port: 443, path: '/' },
    ],
    [
      'https://huggingface.co:8443/',
      { scheme: 'https', host: 'huggingface.co', port: 8443, path: '/' },
    ],
    ['http://huggingface.co/', { scheme: 'http', host: 'huggingface.co', port: 80, path: '/' }],
    [
      'https://huggingface.co./x',
      { scheme: 'https', host: 'huggingface.co', port: 443, path: '/x' },
    ],
    ['https://bücher.de/', { scheme: 'https', host: 'xn--bcher-kva.de', port: 443, path: '/' }],
    [
      'https://xn--80ak6aa92e.com',
      { scheme: 'https', host: 'xn--80ak6aa92e.com', port: 443, path: '/' },
    ],
    [
      'https://huggingf\u0430ce.co/',
      { scheme: 'https', host: 'xn--huggingfce-6qi.co', port: 443, path: '/' },
    ],
    ['http://10.0.0.1:8080/api', { scheme: 'http', host: '10.0.0.1', port: 8080, path: '/api' }],
    ['https://[::1]/x', { scheme: 'https', host: '[::1]', port: 443, path: '/x' }],
    [
      'https://h.com/a/../../b//c/./d/',
      { scheme: 'https', host: 'h.com', port: 443, path: '/b/c/d' },
    ],
    ['https://h.com/a%7eb%20c', { scheme: 'https', host: 'h.com', port: 443, path: '/a%7Eb%20c' }],
  ])('%j', (raw, expected) => {
    expect(dest(raw)).toEqual(expected);
  });

  it('reports userinfo, query and fragment but keeps them out of the destination', () => {
    const p = parseDestination('https://user:pw@huggingface.co/x?token=1#frag');
    expect(p).toEqual({
      ok: true,
      dest: { scheme: 'https', host: 'huggingface.co', port: 443, path: '/x' },
      hadUserinfo: true,
      hadQuery: true,
      hadFragment: true,
    });
    const q = parseDestination('https://huggingface.co/x?#');
    expect(q.ok && q.hadQuery && q.hadFragment && !q.hadUserinfo).toBe(true);
    const a = parseDestination('https://huggingface.co@evil.com/');
    expect(a.ok && a.hadUserinfo && a.dest.host === 'evil.com').toBe(true);
  });

  it.each<[string, string, DestinationRefusal]>([
    ['empty', '', 'empty'],
    ['too long', `https://h.com/${'a'.repeat(MAX_DESTINATION_LENGTH)}`, 'too_long'],
    ['no scheme', 'huggingface.co/x', 'unparseable'],
    ['scheme without slashes', 'https:huggingface.co', 'unparseable'],
    ['three slashes', 'https:///huggingface.co/', 'unparseable'],
    ['backslash authority trick', 'https://evil.com\\@huggingface.co/', 'unparseable'],
    ['tab inside host', 'https://hugging\tface.co/', 'unparseable'],
    ['leading space', ' https://huggingface.co/', 'unparseable'],
    ['soft hyphen in host', 'https://hugging\u00ADface.co/', 'unparseable'],
    ['bidi override', 'https://huggingface.co/\u202Ex', 'unparseable'],
    ['lone surrogate', 'https://huggingface.co/\uD800', 'unparseable'],
    ['ftp', 'ftp://huggingface.co/', 'scheme'],
    ['file', 'file:///etc/passwd', 'scheme'],
    ['javascript', 'javascript:alert(1)', 'scheme'],
    ['websocket', 'wss://huggingface.co/', 'scheme'],
    ['percent-encoded host', 'https://hugging%66ace.co/', 'host_invalid'],
    ['hex IPv4 shorthand', 'https://0x7f.1/', 'host_invalid'],
    ['decimal IPv4', 'https://2130706433/', 'host_invalid'],
    ['short IPv4', 'https://10.1/', 'host_invalid'],
    ['non-canonical IPv6', 'https://[0:0::1]/', 'host_invalid'],
    ['unterminated IPv6', 'https://[::1/', 'host_invalid'],
    ['empty label', 'https://huggingface..co/', 'host_invalid'],
    ['two trailing dots', 'https://huggingface.co../', 'host_invalid'],
    ['leading hyphen', 'https://-huggingface.co/', 'host_invalid'],
    ['underscore', 'https://hugging_face.co/', 'host_invalid'],
    ['semicolon', 'https://huggingface.co;evil.com/', 'host_invalid'],
    ['empty host', 'https://:443/', 'host_invalid'],
    ['fullwidth at sign', 'https://huggingface.co\uFF20evil.com/', 'host_invalid'],
    ['IDNA-ignored variation selector', 'https://hugging\uFE0Fface.co/', 'host_invalid'],
    ['port 0', 'https://huggingface.co:0/', 'port_invalid'],
    ['port too large', 'https://huggingface.co:65536/', 'port_invalid'],
    ['port leading zero', 'https://huggingface.co:0443/', 'port_invalid'],
    ['empty port', 'https://huggingface.co:/', 'port_invalid'],
    ['non-numeric port', 'https://huggingface.co:44a/', 'port_invalid'],
    ['encoded dot segment', 'https://huggingface.co/org/%2e%2e/evil', 'encoded_path'],
    ['encoded dot, upper case', 'https://huggingface.co/org/%2E%2E/evil', 'encoded_path'],
    ['encoded slash', 'https://huggingface.co/org%2f..%2fevil', 'encoded_path'],
    ['encoded backslash', 'https://huggingface.co/org%5c..%5cevil', 'encoded_path'],
    ['double-encoded dot', 'https://huggingface.co/org/%252e%252e/evil', 'encoded_path'],
    ['overlong slash', 'https://huggingface.co/org/..%c0%afevil', 'encoded_path'],
    ['overlong dot', 'https://huggingface.co/org/%e0%80%ae%e0%80%ae/evil', 'encoded_path'],
    ['escaped fullwidth solidus', 'https://huggingface.co/org/..%ef%bc%8fevil', 'encoded_path'],
    ['escaped NUL', 'https://huggingface.co/org/x%00.txt', 'encoded_path'],
    ['malformed escape', 'https://huggingface.co/org/%zz', 'encoded_path'],
    ['division slash in host', 'https://huggingface.co\u2215evil.com/', 'unicode_slash'],
    ['fullwidth solidus in path', 'https://huggingface.co/org\uFF0F..\uFF0Fevil', 'unicode_slash'],
    ['ideographic full stop in host', 'https://huggingface\u3002co/', 'unicode_slash'],
    ['fullwidth full stop in host', 'https://huggingface\uFF0Eco/', 'unicode_slash'],
  ])('%s → %s', (_name, raw, refusal) => {
    expect(destRefusalOf(raw)).toBe(refusal);
  });

  it('judges encoded combining marks in context (found by the fuzzer)', () => {
    // `etc\u0301` is an ordinary name; the parser encodes it as etc%CC%81, which must re-parse.
    expect(dest('https://h.com/etc\u0301').path).toBe('/etc%CC%81');
    expect(dest('https://h.com/etc%CC%81').path).toBe('/etc%CC%81');
    // …but a combining mark attached to a dot still disguises a dot segment.
    expect(destRefusalOf('https://h.com/.%CC%81/x')).toBe('encoded_path');
    expect(destRefusalOf('https://h.com/.\u0301/x')).toBe('unicode_slash');
  });

  it('leaves encoded forms in the query alone (query is not matched)', () => {
    expect(dest('https://huggingface.co/x?next=%2e%2e%2f').path).toBe('/x');
  });
});

describe('normalizeDestinationEntry', () => {
  it('treats a bare host as https://host/ on port 443 only', () => {
    expect(normalizeDestinationEntry('HuggingFace.co')).toEqual({
      scheme: 'https',
      host: 'huggingface.co',
      port: 443,
      path: '/',
    });
  });

  it.each<[string, DestinationRefusal]>([
    ['', 'empty'],
    ['huggingface.co:8443', 'unparseable'],
    ['huggingface.co/org', 'unparseable'],
    ['https://u:p@huggingface.co/', 'userinfo_present'],
    ['https://huggingface.co/?q=1', 'unparseable'],
    ['https://huggingface.co/#f', 'unparseable'],
    ['ftp://huggingface.co/', 'scheme'],
    ['https://huggingface.co/%2e%2e/', 'encoded_path'],
  ])('throws on %j (%s)', (entry, refusal) => {
    expect(() => normalizeDestinationEntry(entry)).toThrow(InvalidDestinationEntryError);
    try {
      normalizeDestinationEntry(entry);
    } catch (e) {
      expect((e as InvalidDestinationEntryError).refusal).toBe(refusal);
    }
  });
});

describe('destinationAllowed', () => {
  describe('entry huggingface.co (bare host)', () => {
    it.each([
      ['https://huggingface.co:443/', true],
      ['HTTPS://HuggingFace.CO/x', true],
      ['https://huggingface.co./x', true],
      ['https://user:pw@huggingface.co/', true], // matching ignores userinfo; the caller sees hadUserinfo
      ['https://huggingface.co/a?b#c', true],
      ['https://huggingface.co:8443/', false], // the original ignored the port here
      ['http://huggingface.co/', false],
      ['https://huggingface.co.evil.com/', false],
      ['https://evil-huggingface.co/', false],
      ['https://huggingface.co@evil.com/', false],
      ['https://huggingface.co:443@evil.com/', false],
      ['https://huggingf\u0430ce.co/', false], // Cyrillic а → xn--huggingfce-6qi.co
      ['https://sub.huggingface.co/', false],
      ['https://huggingface.com/', false],
      ['https://huggingface.co.example/', false],
    ])('%j → %s', (raw, expected) => {
      expect(allowed(raw, 'huggingface.co')).toBe(expected);
    });
  });

  describe('entry with a path prefix', () => {
    it.each([
      ['https://huggingface.co/org', true],
      ['https://huggingface.co/org/', true],
      ['https://huggingface.co/org/model/resolve/main/x.gguf', true],
      ['https://huggingface.co/x/../org/y', true],
      ['https://huggingface.co//org/./y', true],
      ['https://huggingface.co/organisation', false],
      ['https://huggingface.co/or', false],
      ['https://huggingface.co/', false],
      ['https://huggingface.co/org/../other', false],
      ['https://huggingface.co/ORG', false],
    ])('%j → %s', (raw, expected) => {
      expect(allowed(raw, 'https://huggingface.co/org/')).toBe(expected);
    });
  });

  it('compares ports exactly', () => {
    expect(allowed('https://huggingface.co:8443/x', 'https://huggingface.co:8443/')).toBe(true);
    expect(allowed('https://huggingface.co/x', 'https://huggingface.co:8443/')).toBe(false);
    expect(allowed('https://huggingface.co:443/x', 'https://huggingface.co/')).toBe(true);
  });

  it('compares IP literals literally', () => {
    expect(allowed('http://10.0.0.1:8080/x', 'http://10.0.0.1:8080/')).toBe(true);
    expect(allowed('http://10.0.0.10:8080/x', 'http://10.0.0.1:8080/')).toBe(false);
    expect(allowed('https://[::1]/api/x', 'https://[::1]/api')).toBe(true);
    expect(destRefusalOf('http://0x0a.0.0.1:8080/')).toBe('host_invalid');
  });

  it('compares IDN hosts after IDNA; homographs get a different punycode host', () => {
    expect(allowed('https://xn--bcher-kva.de/x', 'https://bücher.de/')).toBe(true);
    expect(allowed('https://BÜCHER.de/x', 'https://bücher.de/')).toBe(true);
    expect(allowed('https://xn--80ak6aa92e.com/', 'apple.com')).toBe(false);
    expect(dest('https://\u0430\u0440\u0440\u04CF\u0435.com/').host).toBe('xn--80ak6aa92e.com');
  });
});

describe('redactedDestination', () => {
  it.each([
    ['https://user:pw@HuggingFace.co:443/a/../b?token=secret#frag', 'https://huggingface.co/b'],
    ['http://huggingface.co:80/', 'http://huggingface.co/'],
    ['https://huggingface.co:8443/x', 'https://huggingface.co:8443/x'],
    ['http://[::1]:8080/x/', 'http://[::1]:8080/x'],
    ['https://bücher.de./', 'https://xn--bcher-kva.de/'],
  ])('%j → %j', (raw, expected) => {
    expect(redactedDestination(dest(raw))).toBe(expected);
  });
});

describe('matchDestinationList', () => {
  const entries = ['https://huggingface.co/org', 'huggingface.co'];

  it('returns the first entry that allows the destination, as written', () => {
    expect(matchDestinationList('https://huggingface.co/org/x', entries).matched).toBe(entries[0]);
    expect(matchDestinationList('https://huggingface.co/other', entries).matched).toBe(entries[1]);
  });

  it('reports no match and refusals', () => {
    expect(matchDestinationList('https://huggingface.co.evil.com/', entries)).toEqual({
      refused: null,
      matched: null,
      dest: { scheme: 'https', host: 'huggingface.co.evil.com', port: 443, path: '/' },
    });
    expect(matchDestinationList('https://huggingface.co/%2e%2e/x', entries).refused).toBe(
      'encoded_path',
    );
  });

  it('accepts pre-normalised entries', () => {
    const pre = [normalizeDestinationEntry('huggingface.co')];
    expect(matchDestinationList('https://huggingface.co/x', pre).matched).toBe(
      'https://huggingface.co/',
    );
  });
});

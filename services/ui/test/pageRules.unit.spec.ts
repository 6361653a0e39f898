import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  assetSegments,
  contentSecurityPolicy,
  contentTypeOf,
  injectNonce,
  isPagePath,
  newNonce,
  operatorProblem,
  passphraseProblem,
  securityHeaders,
  UI_ERROR_CODES,
} from '../src/index.js';

describe('injectNonce', () => {
  it('puts the nonce on every script, link and style tag, replacing any nonce the file had', () => {
    const html =
      '<head><link rel="stylesheet" href="/assets/a.css"><script type="module" src="/assets/a.js"></script>' +
      '<STYLE nonce="pinned">x</STYLE><script\nnonce=old src="/b.js"></script></head><div>script</div>';
    const out = injectNonce(html, 'N1');
    expect(out).toContain('<link nonce="N1" rel="stylesheet" href="/assets/a.css">');
    expect(out).toContain('<script nonce="N1" type="module" src="/assets/a.js">');
    expect(out).toContain('<STYLE nonce="N1">');
    expect(out).toContain('<script nonce="N1" src="/b.js">');
    expect(out).not.toContain('pinned');
    expect(out).not.toContain('old');
    expect(out).toContain('<div>script</div>');
  });

  it('refuses a nonce that could break out of the attribute', () => {
    expect(() => injectNonce('<script>', '"><script>')).toThrow();
  });
});

describe('the content security policy', () => {
  it('allows script and style only from here or with the nonce, never framed, no base, no objects', () => {
    const csp = contentSecurityPolicy('abc', 'ws://127.0.0.1:4223');
    expect(csp).toContain("script-src 'self' 'nonce-abc'");
    expect(csp).toContain("style-src 'self' 'nonce-abc'");
    expect(csp).toContain("connect-src 'self' ws://127.0.0.1:4223");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).not.toContain('unsafe');
  });

  it('given a websocket URL that is not one, then connect-src names only self', () => {
    expect(contentSecurityPolicy('n', "ws://x; script-src 'unsafe-inline'")).toContain(
      "connect-src 'self';",
    );
    expect(contentSecurityPolicy('n', null)).toContain("connect-src 'self';");
  });

  it('caches assets for long and nothing else', () => {
    expect(securityHeaders('/assets/a.js', 'n', null)['cache-control']).toContain('immutable');
    expect(securityHeaders('/api/bus', 'n', null)['cache-control']).toBe('no-store');
    expect(securityHeaders('/', 'n', null)).toMatchObject({
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
  });

  it('makes a fresh nonce each time', () => {
    expect(newNonce()).not.toBe(newNonce());
    expect(newNonce()).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });
});

describe('asset paths', () => {
  it('maps plain names to segments', () => {
    expect(assetSegments('index-abc123.js')).toEqual(['index-abc123.js']);
    expect(assetSegments('fonts/a.woff2')).toEqual(['fonts', 'a.woff2']);
  });
  it('refuses traversal, encoded separators, hidden files, NUL and depth', () => {
    for (const bad of [
      '../x.js',
      '..%2fx.js',
      'a%2f..%2f..%2fx.js',
      '%2e%2e/x.js',
      '.env',
      'a\\b.js',
      'a%00.js',
      '',
      'a//b.js',
      'a/b/c/d/e.js',
      '%zz',
    ])
      expect(assetSegments(bad), bad).toBeNull();
  });
  it('knows the types it serves and nothing else', () => {
    expect(contentTypeOf('a.js')).toContain('javascript');
    expect(contentTypeOf('a.html')).toBeNull();
    expect(contentTypeOf('noext')).toBeNull();
  });
  it('treats extension-less paths outside the API and assets as page paths', () => {
    expect(['/', '/events', '/incidents/INC-1', '/models/'].every(isPagePath)).toBe(true);
    expect(
      ['/api/bus', '/assets/a.js', '/health', '/x.php', '/a/../b', '/%2e'].some(isPagePath),
    ).toBe(false);
  });
});

describe('the passphrase and operator rules', () => {
  it('needs 12 to 256 characters, counted as characters', () => {
    expect(passphraseProblem('short one')).toMatch(/at least 12/);
    expect(passphraseProblem('correct horse battery')).toBeNull();
    expect(passphraseProblem('🐎'.repeat(3) + 'abcdefghi')).toBeNull();
    expect(passphraseProblem('a b c d e f '.repeat(30))).toMatch(/at most 256/);
  });
  it('refuses common ones, too few distinct characters, and the operator name inside', () => {
    expect(passphraseProblem('PasswordPassword')).toMatch(/common/);
    expect(passphraseProblem('aaaaaaaaaaaaaaa')).toMatch(/few/);
    expect(passphraseProblem('alice-is-the-admin-here', 'Alice')).toMatch(/operator/);
  });
  it('names an operator in 1 to 64 printable characters', () => {
    expect(operatorProblem('alice')).toBeNull();
    expect(operatorProblem('')).not.toBeNull();
    expect(operatorProblem(' alice')).not.toBeNull();
    expect(operatorProblem('al\u0007ice')).not.toBeNull();
    expect(operatorProblem('ali\u202ece')).not.toBeNull();
    expect(operatorProblem('a'.repeat(65))).not.toBeNull();
  });
});

describe('the README', () => {
  it('documents every error code', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    expect(UI_ERROR_CODES.filter((code) => !readme.includes(`\`${code}\``))).toEqual([]);
  });
});

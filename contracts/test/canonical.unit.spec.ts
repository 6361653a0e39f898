import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../src/index.js';

// canonicalJson and sha256Hex were rewritten for speed (they are on every policy decision's path):
// their output must stay byte for byte what the first implementation gave, since digests of it
// are recorded in the stream.

function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
}

describe('canonicalJson', () => {
  it('gives what the reference implementation gives, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts keys by code unit, leaves undefined members out and refuses non-finite numbers', () => {
    expect(canonicalJson({ b: 1, a: undefined, B: [true, null], é: 'x', '\u{1F600}': 2 })).toBe(
      '{"B":[true,null],"b":1,"é":"x","\u{1F600}":2}',
    );
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
  });
});

describe('sha256Hex', () => {
  it('is the SHA-256 of strings (as UTF-8) and of bytes', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array(), (s, b) => {
        expect(sha256Hex(s)).toBe(createHash('sha256').update(s).digest('hex'));
        expect(sha256Hex(b)).toBe(createHash('sha256').update(b).digest('hex'));
      }),
    );
  });
});

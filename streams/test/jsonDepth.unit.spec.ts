import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, jsonTooDeep } from '../src/http/json.js';

// The gateways' depth bound is read from the text before parsing; it must agree with the depth
// of the value the text parses to, whatever the strings inside hold.

function depthOf(value: unknown): number {
  // Test oracle only: values generated here are shallow enough to recurse over.
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (typeof value === 'object' && value !== null)
    return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

describe('jsonTooDeep', () => {
  it('agrees with the parsed value for any JSON, strings with brackets and escapes included', () => {
    const text = fc.string({
      unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', 'é', '😀'),
    });
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.integer(),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(text, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 6 }), (v, limit) => {
        const json = JSON.stringify(v);
        const expected = depthOf(v) > limit;
        expect(jsonTooDeep(json, limit)).toBe(expected);
        expect(jsonTooDeep(Buffer.from(json, 'utf8'), limit)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
  it('refuses 30,000 levels without recursing', () => {
    expect(jsonTooDeep('['.repeat(30_000) + ']'.repeat(30_000))).toBe(true);
    expect(jsonTooDeep('{"a":'.repeat(30_000) + '1' + '}'.repeat(30_000))).toBe(true);
    expect(jsonTooDeep('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { redactValue, truncateUtf8 } from '../src/index.js';

// The redactor itself is @secai/contracts' (contracts/test/secrets.unit.spec.ts); here, the
// tool firewall's use of it: every string of a JSON value, and the UTF-8 cut.

describe('redactValue', () => {
  it('redacts each string of a JSON value on its own and sums the counts', () => {
    const r = redactValue({
      matches: [
        { path: '/vault/a', text: '-----BEGIN RSA PRIVATE KEY-----' },
        { path: '/vault/b', text: 'password=x1' },
      ],
      count: 2,
    });
    expect(r.value).toEqual({
      matches: [
        { path: '/vault/a', text: '[REDACTED:private_key]' },
        { path: '/vault/b', text: 'password=[REDACTED:password]' },
      ],
      count: 2,
    });
    expect(r.counts).toEqual({ private_key: 1, password: 1 });
  });
});

describe('truncateUtf8', () => {
  it('keeps a text that fits', () => {
    expect(truncateUtf8('héllo', 6)).toEqual({ text: 'héllo', bytes: 6, truncated: false });
  });

  it('cuts on a character boundary, never inside a multi-byte character', () => {
    // "é" is two bytes; "€" three.
    expect(truncateUtf8('aé', 2)).toEqual({ text: 'a', bytes: 1, truncated: true });
    expect(truncateUtf8('€€', 5)).toEqual({ text: '€', bytes: 3, truncated: true });
  });
});

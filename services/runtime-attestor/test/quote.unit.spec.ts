import { describe, expect, it } from 'vitest';
import {
  QuoteFormatError,
  fromHex,
  parsePcrListing,
  parseQuote,
  pcrDigestOf,
} from '../src/index.js';
import { ZERO, quoteMessage } from './fixtures.js';

// A quote swtpm 0.7.1 produced (tpm2_quote -c 0x81010020 -l sha256:0,2,4,7 -q <nonce> -g sha256):
// PCRs 0,2,4,7 all zero on a fresh simulator.
const SWTPM_QUOTE =
  'ff54434780180022000ba3164a3fb3b1b7d071b9ece839a8d72c282a6cf63018c517eeced9a28b97b8b5' +
  '0020552e0c5cd2c88344f5b12ca79acff39895f48a235ca4e565a3c57d68b08c5e0b' +
  '0000000000008dbb000000010000000001201910230016363600000001000b039500000020' +
  '38723a2e5e8a17aa7950dc008209944e898f69a7bd10a23c839d341e935fd5ca';

describe('parseQuote', () => {
  it('reads a real swtpm quote', () => {
    expect(parseQuote(fromHex(SWTPM_QUOTE))).toEqual({
      qualifiedSigner: '000ba3164a3fb3b1b7d071b9ece839a8d72c282a6cf63018c517eeced9a28b97b8b5',
      extraData: '552e0c5cd2c88344f5b12ca79acff39895f48a235ca4e565a3c57d68b08c5e0b',
      clock: '36283',
      resetCount: 1,
      restartCount: 0,
      safe: true,
      firmwareVersion: '2019102300163636',
      selections: [{ bank: 'sha256', pcrs: [0, 2, 4, 7] }],
      pcrDigest: '38723a2e5e8a17aa7950dc008209944e898f69a7bd10a23c839d341e935fd5ca',
    });
  });

  it('computes the digest a TPM signs over PCR values', () => {
    expect(pcrDigestOf([ZERO, ZERO, ZERO, ZERO])).toBe(
      '38723a2e5e8a17aa7950dc008209944e898f69a7bd10a23c839d341e935fd5ca',
    );
  });

  it('refuses what is not a quote', () => {
    const good = fromHex(quoteMessage({}));
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array()],
      ['truncated', good.subarray(0, good.length - 1)],
      ['trailing', Uint8Array.from([...good, 0])],
      ['magic', Uint8Array.from([0, ...good.subarray(1)])],
      [
        'certify, not quote',
        Uint8Array.from([...good.subarray(0, 4), 0x80, 0x17, ...good.subarray(6)]),
      ],
    ];
    for (const [what, bytes] of cases) {
      expect(() => parseQuote(bytes), what).toThrow(QuoteFormatError);
    }
  });
});

describe('parsePcrListing', () => {
  it('reads the sha256 block of a checkquote listing, lowercased', () => {
    const listing = [
      'pcrs:',
      '  sha1:',
      `    0 : 0x${'AA'.repeat(20)}`,
      '  sha256:',
      `    0 : 0x${'00'.repeat(32)}`,
      `    7 : 0x${'9E'.repeat(32)}`,
      'sig: 3046022100',
    ].join('\n');
    expect([...parsePcrListing(listing)]).toEqual([
      [0, '00'.repeat(32)],
      [7, '9e'.repeat(32)],
    ]);
  });

  it('refuses duplicates and malformed values', () => {
    expect(() =>
      parsePcrListing(`pcrs:\n  sha256:\n    0 : 0x${ZERO}\n    0 : 0x${ZERO}\n`),
    ).toThrow(/twice/);
    expect(() => parsePcrListing('pcrs:\n  sha256:\n    0 : 0x1234\n')).toThrow(/SHA-256/);
    expect(() => parsePcrListing('pcrs:\n  sha256:\n    zero : 0x00\n')).toThrow(/unexpected/);
  });
});

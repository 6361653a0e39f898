import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ChainBuilder,
  ChainError,
  GENESIS_HEAD,
  chainLink,
  entryDigest,
  headBytes,
} from '../src/index.js';

const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('chainLink', () => {
  it('starts from 32 zero bytes', () => {
    expect(GENESIS_HEAD).toBe('0'.repeat(64));
    expect(headBytes(GENESIS_HEAD)).toEqual(Buffer.alloc(32));
  });

  it('hashes previous head || seq (8 bytes big-endian) || SHA-256 of the stored bytes', () => {
    const bytes = bytesOf('{"payloadType":"x"}');
    const previous = 'ab'.repeat(32);
    const seq = 2 ** 40 + 7;
    const seqBytes = Buffer.alloc(8);
    seqBytes.writeBigUInt64BE(BigInt(seq));
    const expected = sha256(
      Buffer.concat([Buffer.from(previous, 'hex'), seqBytes, sha256(bytes)]),
    ).toString('hex');
    expect(chainLink(previous, seq, bytes)).toBe(expected);
    expect(entryDigest(bytes)).toEqual(sha256(bytes));
  });

  it('is deterministic and changes with every input', () => {
    const bytes = bytesOf('event');
    const head = chainLink(GENESIS_HEAD, 1, bytes);
    expect(chainLink(GENESIS_HEAD, 1, bytes)).toBe(head);
    expect(head).toMatch(/^[0-9a-f]{64}$/);
    expect(chainLink(GENESIS_HEAD, 2, bytes)).not.toBe(head);
    expect(chainLink(GENESIS_HEAD, 1, bytesOf('event '))).not.toBe(head);
    expect(chainLink('1'.repeat(64), 1, bytes)).not.toBe(head);
  });

  it('pins a known vector', () => {
    // Recorded once; a change here means every existing chain would stop verifying.
    expect(chainLink(GENESIS_HEAD, 1, bytesOf('{}'))).toBe(
      '11877e2e7b75bc88d35d117371131d661b930d8bc576d3a189fa753f95e10266',
    );
  });

  it('refuses malformed heads and sequences', () => {
    expect(() => chainLink('00', 1, bytesOf('x'))).toThrowError(
      expect.objectContaining({ code: 'CHAIN_HEAD_INVALID' }) as Error,
    );
    expect(() => chainLink('A'.repeat(64), 1, bytesOf('x'))).toThrow(ChainError);
    expect(() => chainLink(GENESIS_HEAD, 0, bytesOf('x'))).toThrowError(
      expect.objectContaining({ code: 'CHAIN_SEQ_INVALID' }) as Error,
    );
    expect(() => chainLink(GENESIS_HEAD, 1.5, bytesOf('x'))).toThrow(ChainError);
  });
});

describe('ChainBuilder', () => {
  it('folds chainLink over entries in order', () => {
    const builder = new ChainBuilder();
    const entries = ['a', 'b', 'c'].map((text, i) => ({ seq: i + 1, bytes: bytesOf(text) }));
    let expected = GENESIS_HEAD;
    for (const { seq, bytes } of entries) {
      expected = chainLink(expected, seq, bytes);
      expect(builder.append(seq, bytes)).toBe(expected);
    }
    expect(builder.head).toBe(expected);
    expect(builder.lastSeq).toBe(3);
    expect(builder.count).toBe(3);
  });

  it('continues a chain from a known head', () => {
    const full = new ChainBuilder();
    full.append(1, bytesOf('a'));
    const resumed = new ChainBuilder({ seq: 1, head: full.head });
    expect(resumed.append(2, bytesOf('b'))).toBe(full.append(2, bytesOf('b')));
    expect(resumed.count).toBe(1);
  });

  it('refuses a sequence that does not move forward', () => {
    const builder = new ChainBuilder();
    builder.append(5, bytesOf('a'));
    expect(() => builder.append(5, bytesOf('b'))).toThrowError(
      expect.objectContaining({ code: 'CHAIN_ORDER' }) as Error,
    );
    expect(() => builder.append(4, bytesOf('b'))).toThrow(ChainError);
    expect(builder.lastSeq).toBe(5);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPickle } from '@secai/formats';
import { PICKLES, concatBytes, seededBytes } from '@secai/formats/testing';
import { protoCandidateCertainlyIncomplete, scanFileForPickles } from '../src/index.js';
import { gaussian } from './weightFixtures.js';

// The static scan leaves out the walk of PROTO candidates that the scanner is certain to end at
// once (issue 11 §6: ≈ 90 % of the candidates in F32 weights). Leaving it out must change
// nothing: for every candidate the check answers for, the scanner itself finds no complete
// stream of three opcodes and counts exactly the opcodes the check charges to the budget.

/** Every offset of PROTO 2..5 in `bytes`. */
function protoCandidates(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < bytes.length; i++)
    if (bytes[i] === 0x80 && bytes[i + 1]! >= 2 && bytes[i + 1]! <= 5) out.push(i);
  return out;
}

/** F32 little-endian weights, as a safetensors or GGUF file holds them. */
function f32Weights(n: number, seed: number): Uint8Array {
  const w = gaussian(n, 0.02, seed);
  const out = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) out.writeFloatLE(w[i]!, i * 4);
  return out;
}

function expectSameAsScanner(bytes: Uint8Array, at: number, maxOpcodes = 1_000_000): boolean {
  const charged = protoCandidateCertainlyIncomplete(bytes, at);
  if (charged === null) return false;
  const scan = scanPickle(bytes, { offset: at, maxOpcodes, maxFindings: 100 });
  expect(scan.complete && scan.opcodes >= 3, `candidate at ${at}`).toBe(false);
  if (maxOpcodes > 1) expect(scan.opcodes, `opcodes at ${at}`).toBe(charged);
  return true;
}

describe('protoCandidateCertainlyIncomplete', () => {
  it('answers only for candidates the scanner ends without a stream, charging what it counts', () => {
    for (let next = 0; next < 256; next++) {
      for (const proto of [2, 3, 4, 5]) {
        const bytes = Uint8Array.from([0x80, proto, next, 0x2e, 0x2e, 0x2e]);
        expectSameAsScanner(bytes, 0);
        expectSameAsScanner(bytes, 0, 1);
      }
    }
    // PROTO and its argument at the very end: nothing follows.
    expect(expectSameAsScanner(Uint8Array.from([0, 0x80, 3]), 1)).toBe(true);
  });

  it('leaves real streams to the scanner', () => {
    const led = Object.values<Uint8Array>(PICKLES).filter(
      (s) => s[0] === 0x80 && s[1]! >= 2 && s[1]! <= 5,
    );
    expect(led.length).toBeGreaterThan(2);
    for (const stream of led) {
      const bytes = concatBytes(seededBytes(64, 5), stream);
      expect(protoCandidateCertainlyIncomplete(bytes, 64)).toBeNull();
    }
    const inert = concatBytes([0x80, 2], 'N', '.');
    expect(protoCandidateCertainlyIncomplete(inert, 0)).toBeNull();
  });

  it('agrees with the scanner on every candidate of random bytes and of F32 weights', () => {
    let answered = 0;
    let total = 0;
    for (const bytes of [seededBytes(4 << 20, 9), f32Weights(1 << 20, 4)]) {
      for (const at of protoCandidates(bytes)) {
        total++;
        if (expectSameAsScanner(bytes, at)) answered++;
      }
    }
    expect(total).toBeGreaterThan(100);
    // Most candidates in weights are settled without a walk (that is the point of the check).
    expect(answered / total).toBeGreaterThan(0.5);
  });
});

describe('scanFileForPickles with the check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secai-pickle-prefilter-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('still finds a payload among weights and exhausts its budget on the same opcodes', async () => {
    const weights = f32Weights(1 << 20, 7);
    const payload = concatBytes(weights, PICKLES.osSystemStackGlobal, weights);
    const p = join(dir, 'payload.bin');
    await writeFile(p, payload);
    expect((await scanFileForPickles(p)).verdict).toBe('malicious');
    // A chunk of 1 KiB gets the floor budget of 10,000 opcodes; 20,000 PROTO candidates that end
    // at once (an unknown opcode after each) cost one opcode each, as the scanner counts them.
    const junk = Buffer.alloc(20_000 * 3);
    for (let i = 0; i < 20_000; i++) junk.set([0x80, 2, 0xff], i * 3);
    const q = join(dir, 'junk.bin');
    await writeFile(q, junk);
    const r = await scanFileForPickles(q, { chunkBytes: junk.length, overlapBytes: 0 });
    expect(r.verdict).toBe('incomplete');
    expect(r.findings[0]).toMatchObject({ detail: 'scan budget exhausted', offset: 10_000 * 3 });
  });
});

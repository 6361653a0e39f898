import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inspectDiffusersDirectory,
  inspectGguf,
  inspectSafetensors,
  parseBoundedJson,
  validateSentencePiece,
  type GgufReport,
} from '../src/index.js';
import { buildTinyLlamaGguf } from '../src/testing/index.js';
import {
  SMALL_TENSORS,
  buildSafetensors,
  buildSentencePiece,
  concatBytes,
  seededBytes,
  writeDiffusersDir,
} from '../src/testing/fixtures.js';

// Issue 11 §1: a valid tiny GGUF with 1.4 MiB of base64 text after its last tensor was promoted.
// Every format the format gate accepts must refuse bytes after its defined end, with its own
// reason code (`trailing_data`), and must not let the same bytes move into a gap or a padding.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trailing-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The trailer: 1.4 MiB of base64 text (low entropy per byte: no entropy check sees it). */
const BASE64_TRAILER = Buffer.from(
  Buffer.from(seededBytes(1_110_000, 11)).toString('base64'),
  'latin1',
);

async function file(name: string, ...parts: Uint8Array[]): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, concatBytes(...parts));
  return p;
}

function rejected(r: GgufReport): Extract<GgufReport, { ok: false }> {
  if (r.ok) throw new Error('accepted, expected a rejection');
  return r;
}

/** Where the tiny model's header ends: after output.weight's info, the last one written. */
function headerEnd(buf: Buffer, dataOffset: number): number {
  const name = 'output.weight';
  // name, u32 n_dims, 2 × u64 dims, u32 type, u64 offset
  return buf.lastIndexOf(Buffer.from(name, 'utf8'), dataOffset) + name.length + 4 + 16 + 4 + 8;
}

/** The end of the furthest tensor's data, relative to the file start. */
function dataEnd(g: ReturnType<typeof buildTinyLlamaGguf>): number {
  return g.dataOffset + Math.max(...g.tensors.map((t) => t.offset + t.sizeBytes));
}

describe('GGUF: nothing after the last tensor but zero padding to the alignment', () => {
  it('the issue: a valid tiny GGUF with a 1.4 MiB base64 trailer is refused as trailing_data', async () => {
    const g = buildTinyLlamaGguf({ seed: 3 });
    expect(BASE64_TRAILER.length).toBeGreaterThan(1.4 * 1024 * 1024);
    const path = await file('base64-trailer.gguf', g.buffer, BASE64_TRAILER);
    const r = rejected(await inspectGguf(path));
    expect(r.reason).toBe('trailing_data');
    expect(r.detail).toContain(`${BASE64_TRAILER.length}`);
  });

  it('the same file without the trailer is accepted, and one extra byte is refused', async () => {
    const g = buildTinyLlamaGguf({ seed: 3 });
    expect(g.buffer.length).toBe(dataEnd(g)); // the writer ends exactly at the last tensor
    const clean = await inspectGguf(await file('clean.gguf', g.buffer));
    expect(clean).toMatchObject({ ok: true, trailingBytes: 0 });
    const one = await inspectGguf(await file('one-byte.gguf', g.buffer, new Uint8Array([0x41])));
    expect(rejected(one).reason).toBe('trailing_data');
  });

  it('allows zero padding up to the next alignment boundary (gguf-py pads the last tensor too)', async () => {
    // Q8_0 rows of 64 elements are 68 bytes: the 261-row output ends off the 32-byte grid.
    const g = buildTinyLlamaGguf({ seed: 3, weightType: 'q8_0' });
    const end = dataEnd(g);
    const pad = Math.ceil((end - g.dataOffset) / 32) * 32 - (end - g.dataOffset);
    expect(g.buffer.length).toBe(end);
    expect(pad).toBeGreaterThan(0);
    const padded = await inspectGguf(await file('padded.gguf', g.buffer, new Uint8Array(pad)));
    expect(padded).toMatchObject({ ok: true, trailingBytes: pad });
    // One zero byte past the boundary is data, not padding.
    const over = await inspectGguf(await file('over.gguf', g.buffer, new Uint8Array(pad + 1)));
    expect(rejected(over).reason).toBe('trailing_data');
    // Padding that is not zero carries data.
    const marked = new Uint8Array(pad);
    marked[pad - 1] = 0x01;
    const dirty = rejected(await inspectGguf(await file('dirty-pad.gguf', g.buffer, marked)));
    expect(dirty.reason).toBe('trailing_data');
    expect(dirty.detail).toMatch(/not zero/);
  });

  it('refuses the trailer moved into a gap between tensors (tensor_gap)', async () => {
    // Shift the last tensor (output.weight) forward by 64 KiB in its info and insert the bytes.
    const g = buildTinyLlamaGguf({ seed: 3 });
    const last = g.tensors.at(-1)!;
    const shift = 64 * 1024;
    const buf = Buffer.from(g.buffer);
    const offsetAt = headerEnd(buf, g.dataOffset) - 8;
    expect(buf.readBigUInt64LE(offsetAt)).toBe(BigInt(last.offset));
    buf.writeBigUInt64LE(BigInt(last.offset + shift), offsetAt);
    const at = g.dataOffset + last.offset;
    const moved = concatBytes(
      buf.subarray(0, at),
      BASE64_TRAILER.subarray(0, shift),
      buf.subarray(at),
    );
    const r = rejected(await inspectGguf(await file('gap.gguf', moved)));
    expect(r.reason).toBe('tensor_gap');
  });

  it('refuses non-zero bytes in the padding between tensors and after the header', async () => {
    const g = buildTinyLlamaGguf({ seed: 3, weightType: 'q8_0' });
    const sorted = [...g.tensors].sort((a, b) => a.offset - b.offset);
    const i = sorted.findIndex((t, k) => {
      const next = sorted[k + 1];
      return next !== undefined && next.offset > t.offset + t.sizeBytes;
    });
    expect(i).toBeGreaterThanOrEqual(0);
    const t = sorted[i]!;
    const interior = Buffer.from(g.buffer);
    interior[g.dataOffset + t.offset + t.sizeBytes] = 0x5a;
    const r1 = rejected(await inspectGguf(await file('interior-pad.gguf', interior)));
    expect(r1.reason).toBe('nonzero_padding');

    const header = Buffer.from(g.buffer);
    const end = headerEnd(header, g.dataOffset);
    expect(end).toBeLessThan(g.dataOffset); // the tiny model's header ends off the grid
    header[end] = 0x5a;
    const r2 = rejected(await inspectGguf(await file('header-pad.gguf', header)));
    expect(r2.reason).toBe('nonzero_padding');
  });

  it('a GGUF with no tensors stays refused (no_tensors); allowed by limits, it must end at its header', async () => {
    const g = buildTinyLlamaGguf({ seed: 3, variant: 'no_tensors' });
    const path = await file('no-tensors.gguf', g.buffer);
    expect(rejected(await inspectGguf(path)).reason).toBe('no_tensors');
    // tensor_count 0 but the infos and data still follow: all of it is after the (empty) data.
    expect(rejected(await inspectGguf(path, { minTensors: 0 })).reason).toBe('trailing_data');
  });
});

describe('safetensors: the buffer must end at the last tensor', () => {
  it('refuses the base64 trailer as trailing_data', async () => {
    const valid = buildSafetensors(SMALL_TENSORS);
    expect((await inspectSafetensors(await file('ok.safetensors', valid))).ok).toBe(true);
    const r = await inspectSafetensors(await file('t.safetensors', valid, BASE64_TRAILER));
    expect(r).toMatchObject({ ok: false, reason: 'trailing_data' });
    const zero = await inspectSafetensors(await file('z.safetensors', valid, new Uint8Array(1)));
    expect(zero).toMatchObject({ ok: false, reason: 'trailing_data' });
  });
});

describe('diffusers: every member with a defined end refuses bytes after it', () => {
  async function pipeline(name: string): Promise<string> {
    const root = join(dir, name);
    await writeDiffusersDir(root);
    return root;
  }

  it('the valid pipeline passes', async () => {
    expect((await inspectDiffusersDirectory(await pipeline('valid'))).ok).toBe(true);
  });

  it('a safetensors member with the trailer: trailing_data', async () => {
    const root = await pipeline('st-trailer');
    await appendFile(join(root, 'unet/diffusion_pytorch_model.safetensors'), BASE64_TRAILER);
    const r = await inspectDiffusersDirectory(root);
    expect(r.ok).toBe(false);
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'trailing_data',
        path: 'unet/diffusion_pytorch_model.safetensors',
      }),
    ]);
  });

  it.each(['model_index.json', 'unet/config.json', 'tokenizer/vocab.json'])(
    'a JSON member (%s) with the trailer after its value: trailing_data',
    async (member) => {
      const root = await pipeline(`json-${member.replace(/\W/g, '_')}`);
      // 64 KiB: model_index.json is bounded at 1 MiB, and the whole trailer would hit that first.
      await appendFile(join(root, member), concatBytes('\n', BASE64_TRAILER.subarray(0, 65_536)));
      const r = await inspectDiffusersDirectory(root);
      expect(r.findings[0]).toMatchObject({ code: 'trailing_data', path: member });
      // An unread model_index.json names no components, so their directories are unexpected too.
      if (member !== 'model_index.json') expect(r.findings).toHaveLength(1);
    },
  );

  it('a JSON member may end with one line ending, not with a whitespace-encoded trailer', async () => {
    const root = await pipeline('json-ws');
    const member = join(root, 'unet/config.json');
    const original = await readFile(member);
    await writeFile(member, concatBytes(original, '\r\n'));
    expect((await inspectDiffusersDirectory(root)).ok).toBe(true);
    // Two bits per byte in spaces, tabs, CRs and LFs: the trailer survives any "strip" of text.
    const ws = [' ', '\t', '\r', '\n'];
    const encoded = Array.from(BASE64_TRAILER.subarray(0, 4096), (b) => ws[b & 3]).join('');
    await writeFile(member, concatBytes(original, encoded));
    const r = await inspectDiffusersDirectory(root);
    expect(r.findings).toEqual([
      expect.objectContaining({ code: 'trailing_data', path: 'unet/config.json' }),
    ]);
  });
});

describe('the strict JSON reader names data after the value', () => {
  it('json_trailing_data, distinct from a syntax error inside the value', () => {
    expect(parseBoundedJson('{"a":1} {}')).toMatchObject({ ok: false, code: 'json_trailing_data' });
    expect(parseBoundedJson('{"a":1}x')).toMatchObject({ ok: false, code: 'json_trailing_data' });
    expect(parseBoundedJson('{"a":1,}')).toMatchObject({ ok: false, code: 'json_syntax' });
    expect(parseBoundedJson('{"a":1}\n').ok).toBe(true);
  });
});

describe('SentencePiece: a second copy of a singular field is an appended message', () => {
  it('refuses a model with a second self-test or denormalizer spec appended', () => {
    const model = buildSentencePiece();
    expect(validateSentencePiece(model)).toBeUndefined();
    const body = BASE64_TRAILER.subarray(0, 100);
    // field 5 (denormalizer_spec), wire type 2, length 100
    const field = (n: number): Uint8Array => concatBytes([(n << 3) | 2, 100], body);
    expect(validateSentencePiece(concatBytes(model, field(5)))).toBeUndefined(); // one is legal
    expect(validateSentencePiece(concatBytes(model, field(5), field(5)))).toMatch(/more than one/);
    expect(validateSentencePiece(concatBytes(model, field(4), field(4)))).toMatch(/more than one/);
  });
});

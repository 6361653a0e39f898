import { mkdtemp, rm, symlink, writeFile, link, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  detectPolyglot,
  detectPolyglotFile,
  inspectSafetensors,
  inspectSafetensorsBuffer,
  parseBoundedJson,
} from '../src/index.js';
import {
  buildSafetensors,
  buildTorchZip,
  encodeSafetensors,
  PICKLES,
  safetensorsVariants,
  safetensorsZipPolyglot,
  seededRandom,
  SMALL_TENSORS,
} from '../src/testing/fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeTemp(name: string, bytes: Uint8Array): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return p;
}

describe('bounded strict JSON', () => {
  it('rejects duplicate keys at any depth', () => {
    const r = parseBoundedJson('{"a":{"b":1,"b":2}}');
    expect(r).toMatchObject({ ok: false, code: 'json_duplicate_key' });
  });
  it('rejects NaN, Infinity, trailing commas and data after the value', () => {
    for (const s of ['{"a":NaN}', '{"a":Infinity}', '[1,]', '{} {}', "{'a':1}"]) {
      expect(parseBoundedJson(s).ok, s).toBe(false);
    }
  });
  it('bounds depth and structural tokens', () => {
    expect(parseBoundedJson('['.repeat(65) + ']'.repeat(65))).toMatchObject({
      code: 'json_too_deep',
    });
    expect(parseBoundedJson('['.repeat(64) + ']'.repeat(64)).ok).toBe(true);
    expect(parseBoundedJson(`[${'1,'.repeat(100)}1]`, { maxTokens: 50 })).toMatchObject({
      code: 'json_too_many_tokens',
    });
  });
  it('keeps __proto__ as data and decodes escapes', () => {
    const r = parseBoundedJson('{"__proto__":{"x":1},"s":"a\\u0041\\n"}');
    expect(r.ok).toBe(true);
    if (r.ok) {
      const v = r.value as Record<string, unknown>;
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect(Object.keys(v)).toEqual(['__proto__', 's']);
      expect(v.s).toBe('aA\n');
    }
  });
  it('decodes integers as bigint when asked, keeping 1 and 1.0 apart', () => {
    const r = parseBoundedJson('[1, 1.0, 18446744073709551615]', { integers: 'bigint' });
    expect(r).toEqual({ ok: true, value: [1n, 1, 18446744073709551615n] });
  });
  it('rejects invalid UTF-8 bytes', () => {
    expect(parseBoundedJson(Uint8Array.of(0x22, 0xc3, 0x28, 0x22))).toMatchObject({
      code: 'json_not_utf8',
    });
  });
});

describe('inspectSafetensors', () => {
  it('accepts a valid file and reports tensors, metadata and sizes', async () => {
    const bytes = buildSafetensors(SMALL_TENSORS, { format: 'pt' });
    const r = await inspectSafetensors(await writeTemp('valid.safetensors', bytes));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.metadata).toEqual({ format: 'pt' });
    expect(r.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.end])).toEqual([
      ['embed.weight', 'F32', [4, 8], 0, 128],
      ['norm.bias', 'F16', [8], 128, 144],
      ['mask', 'BOOL', [2, 3], 144, 150],
    ]);
    expect(r.dataLength).toBe(150);
    expect(8 + r.headerLength + r.dataLength).toBe(bytes.length);
  });

  const variants = safetensorsVariants();
  for (const [name, { bytes, reason }] of Object.entries(variants)) {
    it(`variant ${name} → ${reason ?? 'ok'}`, async () => {
      const r = await inspectSafetensors(await writeTemp(`${name}.safetensors`, bytes));
      if (reason === null) expect(r.ok).toBe(true);
      else expect(r).toMatchObject({ ok: false, reason });
      // The in-memory variant agrees with the file variant.
      const m = inspectSafetensorsBuffer(bytes);
      expect(m.ok ? null : m.reason).toBe(reason);
    });
  }

  it('accepts sub-byte dtypes packed, zero-width tensors at boundaries, and space padding', () => {
    const header = JSON.stringify({
      z0: { dtype: 'F32', shape: [0, 5], data_offsets: [0, 0] },
      f4: { dtype: 'F4', shape: [3], data_offsets: [0, 2] }, // 3 × 4 bits = 12 bits → 2 bytes
      f6: { dtype: 'F6_E2M3', shape: [4], data_offsets: [2, 5] }, // 24 bits → 3 bytes
      z1: { dtype: 'U8', shape: [0], data_offsets: [5, 5] },
    });
    const r = inspectSafetensorsBuffer(encodeSafetensors(`${header}      `, 5));
    expect(r.ok).toBe(true);
  });

  it('rejects a zero-width tensor inside another tensor', () => {
    const header = JSON.stringify({
      a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] },
      z: { dtype: 'U8', shape: [0], data_offsets: [4, 4] },
    });
    expect(inspectSafetensorsBuffer(encodeSafetensors(header, 8))).toMatchObject({
      reason: 'tensor_overlap',
    });
  });

  it('rejects padding other than trailing spaces and leading whitespace', () => {
    const body = JSON.stringify({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } });
    expect(inspectSafetensorsBuffer(encodeSafetensors(`${body}\n`, 1))).toMatchObject({
      reason: 'header_not_object',
    });
    expect(inspectSafetensorsBuffer(encodeSafetensors(` ${body}`, 1))).toMatchObject({
      reason: 'header_not_object',
    });
  });

  it('honours the header bound from limits', () => {
    const bytes = buildSafetensors(SMALL_TENSORS);
    expect(inspectSafetensorsBuffer(bytes, { maxHeaderBytes: 16 })).toMatchObject({
      reason: 'header_length_out_of_bounds',
    });
    expect(inspectSafetensorsBuffer(bytes, { maxTensors: 2 })).toMatchObject({
      reason: 'too_many_tensors',
    });
  });

  it('reads only the header of a large sparse file', async () => {
    // 2 GiB declared tensor in a sparse file: validation must not read the data.
    const size = 2 * 1024 * 1024 * 1024;
    let header = JSON.stringify({ big: { dtype: 'U8', shape: [size], data_offsets: [0, size] } });
    while ((8 + header.length) % 8 !== 0) header += ' ';
    const p = await writeTemp('sparse.safetensors', encodeSafetensors(header, 0));
    const fh = await open(p, 'r+');
    await fh.truncate(8 + header.length + size);
    await fh.close();
    const r = await inspectSafetensors(p);
    expect(r).toMatchObject({ ok: true, dataLength: size });
  });

  it('refuses symlinks, hard links, directories and missing files', async () => {
    const target = await writeTemp('target.safetensors', buildSafetensors(SMALL_TENSORS));
    const sl = join(dir, 'link.safetensors');
    await symlink(target, sl);
    expect(await inspectSafetensors(sl)).toMatchObject({ ok: false, reason: 'not_regular_file' });
    const hl = join(dir, 'hard.safetensors');
    await link(target, hl);
    expect(await inspectSafetensors(hl)).toMatchObject({ ok: false, reason: 'hard_link' });
    expect(await inspectSafetensors(dir)).toMatchObject({ ok: false, reason: 'not_regular_file' });
    expect(await inspectSafetensors(join(dir, 'nope'))).toMatchObject({
      ok: false,
      reason: 'io_error',
    });
  });

  it('survives 300 seeded random mutations without throwing or hanging', () => {
    const rand = seededRandom(0x5ec41);
    const bases = [
      buildSafetensors(SMALL_TENSORS, { format: 'pt' }),
      ...Object.values(safetensorsVariants()).map((v) => v.bytes),
    ];
    const outcomes = new Set<string>();
    for (let i = 0; i < 300; i += 1) {
      const base = bases[Math.floor(rand() * bases.length)] ?? new Uint8Array();
      const bytes = Uint8Array.from(base);
      const kind = Math.floor(rand() * 4);
      let mutated: Uint8Array = bytes;
      if (kind === 0) {
        for (let k = 0; k < 1 + Math.floor(rand() * 8); k += 1) {
          bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
        }
      } else if (kind === 1) {
        mutated = bytes.subarray(0, Math.floor(rand() * bytes.length));
      } else if (kind === 2) {
        // Mutate inside the header text only (digits, quotes, braces).
        const chars = '0123456789"{}[],: -.eE';
        for (let k = 0; k < 1 + Math.floor(rand() * 4); k += 1) {
          const at = 8 + Math.floor(rand() * Math.max(1, Math.min(bytes.length - 8, 200)));
          if (at < bytes.length) bytes[at] = chars.charCodeAt(Math.floor(rand() * chars.length));
        }
      } else if (bytes.length >= 8) {
        // Rewrite the length prefix.
        new DataView(bytes.buffer).setUint32(0, Math.floor(rand() * 0xffffffff), true);
        new DataView(bytes.buffer).setUint32(
          4,
          rand() < 0.5 ? 0 : Math.floor(rand() * 0xffffffff),
          true,
        );
      }
      const r = inspectSafetensorsBuffer(mutated);
      outcomes.add(r.ok ? 'ok' : r.reason);
    }
    expect(outcomes.size).toBeGreaterThan(3);
  });
});

describe('detectPolyglot', () => {
  it('finds nothing in a plain safetensors file', () => {
    const bytes = buildSafetensors(SMALL_TENSORS);
    expect(detectPolyglot(bytes, bytes, { fileSize: bytes.length })).toMatchObject({
      primary: 'safetensors',
      polyglot: false,
      findings: [],
    });
  });

  it('ignores an import-free pickle-looking run inside weights (random bytes form them by chance)', () => {
    // PROTO 2, BININT1 1, STOP: a valid pickle of the number 1, importing nothing.
    const chance = Uint8Array.from([0x80, 0x02, 0x4b, 0x01, 0x2e]);
    const weights = new Uint8Array(4096).fill(0x3c);
    weights.set(chance, 1000);
    const bytes = buildSafetensors([{ name: 'w', dtype: 'U8', shape: [4096] }], undefined, weights);
    expect(detectPolyglot(bytes, bytes, { fileSize: bytes.length }).polyglot).toBe(false);
    // The same place holding a stream that imports a global is reported.
    const evil = new Uint8Array(4096).fill(0x3c);
    evil.set(PICKLES.osSystemStackGlobal, 1000);
    const bad = buildSafetensors([{ name: 'w', dtype: 'U8', shape: [4096] }], undefined, evil);
    expect(detectPolyglot(bad, bad, { fileSize: bad.length }).findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: 'embedded_pickle' })]),
    );
  });

  it('flags a valid safetensors whose tensor is a torch zip (EOCD at the end, .pkl member)', async () => {
    const bytes = safetensorsZipPolyglot();
    expect(inspectSafetensorsBuffer(bytes).ok).toBe(true); // the format gate alone is fooled
    const r = detectPolyglot(
      bytes.subarray(0, 4096),
      bytes.subarray(Math.max(0, bytes.length - 4096)),
      {
        fileSize: bytes.length,
      },
    );
    expect(r.primary).toBe('safetensors');
    expect(r.polyglot).toBe(true);
    const codes = r.findings.map((f) => f.code);
    expect(codes).toContain('zip_end_of_central_directory');
    expect(codes).toContain('embedded_zip_pickle');
    const eocd = r.findings.find((f) => f.code === 'zip_end_of_central_directory');
    expect(eocd?.offset).toBe(bytes.length - 22);
    const member = r.findings.find((f) => f.code === 'embedded_zip_pickle');
    expect(member?.offset).toBe(8 + 128);
    expect(member?.detail).toContain('malicious');
    const file = await detectPolyglotFile(await writeTemp('poly.safetensors', bytes));
    expect(file).toMatchObject({ polyglot: true });
  });

  it('does not mistake a safetensors header length of 640 (bytes 80 02) for a pickle PROTO', () => {
    let header = JSON.stringify({ w: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } });
    header += ' '.repeat(640 - header.length);
    const bytes = encodeSafetensors(header, 4);
    expect([bytes[0], bytes[1]]).toEqual([0x80, 0x02]);
    expect(inspectSafetensorsBuffer(bytes).ok).toBe(true);
    expect(detectPolyglot(bytes, bytes)).toMatchObject({ primary: 'safetensors', polyglot: false });
  });

  it('flags pickle prefixes at offset 0 and a zip at offset 0', () => {
    const p = detectPolyglot(PICKLES.osSystemStackGlobal, PICKLES.osSystemStackGlobal);
    expect(p.findings[0]).toMatchObject({ code: 'pickle_prefix', offset: 0 });
    const g = detectPolyglot(PICKLES.osSystemGlobal, new Uint8Array());
    expect(g.findings[0]).toMatchObject({ code: 'pickle_prefix' });
    const zip = buildTorchZip(PICKLES.torchRebuildTensor, true);
    const z = detectPolyglot(zip, zip);
    expect(z.primary).toBe('zip');
    expect(z.findings.map((f) => f.code)).toEqual(
      expect.arrayContaining([
        'zip_local_header_at_start',
        'zip_end_of_central_directory',
        'embedded_zip_pickle',
      ]),
    );
  });

  it('flags a PROTO pickle stream hidden in the middle of the head', () => {
    const head = new Uint8Array(2048);
    head.set(buildSafetensors(SMALL_TENSORS).subarray(0, 300));
    head.set(PICKLES.builtinsEvalReduce, 1000);
    const r = detectPolyglot(head, new Uint8Array(), { fileSize: 1 << 20 });
    expect(r.findings).toEqual([
      expect.objectContaining({ code: 'embedded_pickle', offset: 1000 }),
    ]);
  });
});

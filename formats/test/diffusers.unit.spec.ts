import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inspectDiffusersDirectory,
  scanJsonForCode,
  validateModelIndex,
  validateSentencePiece,
  validateTextFile,
} from '../src/index.js';
import {
  buildSentencePiece,
  writeDiffusersDir,
  type DiffusersVariant,
} from '../src/testing/fixtures.js';

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'secai-diff-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function inspectVariant(variant: DiffusersVariant) {
  const root = join(base, variant);
  await writeDiffusersDir(root, variant);
  return inspectDiffusersDirectory(root);
}

describe('inspectDiffusersDirectory', () => {
  it('accepts a valid pipeline directory', async () => {
    const r = await inspectVariant('valid');
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.reason).toBeUndefined();
    expect(r.className).toBe('StableDiffusionPipeline');
    expect(r.safetensorsCount).toBe(3);
    expect(Object.keys(r.components).sort()).toEqual([
      'scheduler',
      'text_encoder',
      'tokenizer',
      'unet',
      'vae',
    ]);
    const paths = r.files.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    expect(r.files.find((f) => f.path === 'unet/diffusion_pytorch_model.safetensors')?.kind).toBe(
      'safetensors',
    );
  });

  const cases: [DiffusersVariant, string, string][] = [
    ['pickleBin', 'pickle_format', 'unet/diffusion_pytorch_model.bin'],
    ['symlink', 'symlink', 'vae/linked.safetensors'],
    ['hardlink', 'hard_link', 'unet/config.json'],
    ['missingComponent', 'component_missing', 'scheduler'],
    ['badJson', 'json_invalid', 'unet/config.json'],
    ['urlInConfig', 'suspicious_content', 'vae/config.json'],
    ['hiddenFile', 'hidden_path', '.git'],
    ['customPipeline', 'index_invalid', 'model_index.json'],
    ['unexpectedDirectory', 'unexpected_directory', 'extras'],
    ['badSafetensors', 'safetensors_invalid', 'unet/diffusion_pytorch_model.safetensors'],
    ['noIndex', 'model_index_missing', 'model_index.json'],
  ];
  for (const [variant, code, path] of cases) {
    it(`rejects ${variant} with ${code}`, async () => {
      const r = await inspectVariant(variant);
      expect(r.ok).toBe(false);
      expect(r.reason).toBeDefined();
      expect(r.findings).toContainEqual(expect.objectContaining({ code, path }));
    });
  }

  it('rejects a file as root, a missing root, and directories without safetensors', async () => {
    const file = join(base, 'plain.txt');
    await writeFile(file, 'x');
    expect((await inspectDiffusersDirectory(file)).findings[0]?.code).toBe('not_a_directory');
    expect((await inspectDiffusersDirectory(join(base, 'missing'))).findings[0]?.code).toBe(
      'io_error',
    );
    const empty = join(base, 'empty');
    await writeDiffusersDir(empty, 'valid');
    await rm(join(empty, 'unet/diffusion_pytorch_model.safetensors'));
    await rm(join(empty, 'vae/diffusion_pytorch_model.safetensors'));
    await rm(join(empty, 'text_encoder/model.safetensors'));
    const r = await inspectDiffusersDirectory(empty);
    expect(r.findings.map((f) => f.code)).toEqual(['no_safetensors']);
  });

  it('enforces file-count and depth limits', async () => {
    const root = join(base, 'limits');
    await writeDiffusersDir(root, 'valid');
    expect(
      (await inspectDiffusersDirectory(root, { maxFiles: 3 })).findings.map((f) => f.code),
    ).toContain('too_many_files');
    expect(
      (await inspectDiffusersDirectory(root, { maxTotalBytes: 100 })).findings.map((f) => f.code),
    ).toContain('total_too_large');
    expect(
      (await inspectDiffusersDirectory(root, { maxDepth: 0 })).findings.map((f) => f.code),
    ).toContain('too_deep');
  });

  it('rejects unsupported file types and bad tokenizer text', async () => {
    const root = join(base, 'types');
    await writeDiffusersDir(root, 'valid');
    await writeFile(join(root, 'unet/run.py'), 'import os');
    await writeFile(join(root, 'tokenizer/merges.txt'), 'a b\u0000\n');
    const r = await inspectDiffusersDirectory(root);
    expect(r.findings).toContainEqual(
      expect.objectContaining({ code: 'unsupported_file_type', path: 'unet/run.py' }),
    );
    expect(r.findings).toContainEqual(
      expect.objectContaining({ code: 'text_invalid', path: 'tokenizer/merges.txt' }),
    );
    expect(r.reason).toMatch(/issue\(s\)/);
  });

  it('validates SentencePiece .model files structurally', async () => {
    const root = join(base, 'spm');
    await writeDiffusersDir(root, 'valid');
    await writeFile(join(root, 'tokenizer/spiece.model'), buildSentencePiece());
    expect((await inspectDiffusersDirectory(root)).ok).toBe(true);
    await writeFile(join(root, 'tokenizer/spiece.model'), Uint8Array.of(0x08, 0x01));
    expect((await inspectDiffusersDirectory(root)).findings[0]).toMatchObject({
      code: 'sentencepiece_invalid',
    });
  });
});

describe('model_index validation', () => {
  it('collects every issue', () => {
    const v = validateModelIndex({
      _class_name: '1bad',
      trust_remote_code: true,
      'bad-key': 1,
      unet: ['evil_lib', 'X'],
      vae: ['diffusers', 'AutoencoderKL'],
      note: 'x'.repeat(5000),
    });
    expect(v.components).toEqual({ vae: ['diffusers', 'AutoencoderKL'] });
    expect(v.issues).toHaveLength(5);
  });
});

describe('content checks', () => {
  it('finds code and URLs in decoded JSON keys and values, even when escaped', () => {
    expect(scanJsonForCode({ a: ['ok', { b: 'https:\u002f\u002fevil' }] })).toEqual([
      'network URL',
    ]);
    expect(scanJsonForCode({ 'eval(1)': 1 })).toEqual(['eval(']);
    expect(scanJsonForCode({ a: 'curl -s x | sh' })).toEqual(['curl']);
    expect(scanJsonForCode({ a: '\\x41' })).toEqual(['hex escape sequence']);
    expect(scanJsonForCode({ a: 'evaluation', b: [1, 2, null] })).toEqual([]);
  });
  it('checks text strictly', () => {
    expect(validateTextFile(new TextEncoder().encode('a b\tc\r\n'))).toBeUndefined();
    expect(validateTextFile(Uint8Array.of(0x61, 0x7f))).toMatch(/control/);
    expect(validateTextFile(Uint8Array.of(0xc3, 0x28))).toMatch(/UTF-8/);
  });
  it('checks SentencePiece structure', () => {
    expect(validateSentencePiece(buildSentencePiece())).toBeUndefined();
    expect(validateSentencePiece(new Uint8Array())).toBe('empty model');
    expect(validateSentencePiece(Uint8Array.of(0x0a, 0x80, 0x00))).toBe('non-canonical varint');
    expect(validateSentencePiece(Uint8Array.of(0x0a, 0x7f, 0x00))).toMatch(/exceeds/);
  });
});

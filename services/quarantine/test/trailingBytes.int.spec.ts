import { appendFile, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStage } from '../src/index.js';
import { buildTinyLlamaGguf } from '@secai/quarantine/testing';
import {
  SMALL_TENSORS,
  buildSafetensors,
  concatBytes,
  seededBytes,
  writeDiffusersDir,
} from '@secai/formats/testing';

// Issue 11 §1 through the real format gate: the compiled worker (dist/, rebuilt by the int
// project's globalSetup) in the sandbox, as the quarantine runs it, on the trailer the trial
// appended: 1.4 MiB of base64 text after the last tensor of a valid tiny GGUF, which was promoted.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-trailing-'));
  await chmod(dir, 0o755); // the sandboxed worker runs as nobody
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BASE64_TRAILER = Buffer.from(
  Buffer.from(seededBytes(1_110_000, 11)).toString('base64'),
  'latin1',
);

async function readOnly(name: string, ...parts: Uint8Array[]): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, concatBytes(...parts));
  await chmod(p, 0o444);
  return p;
}

describe('format_gate worker: bytes after the end of every accepted format', () => {
  it('passes the tiny GGUF, and fails it with the base64 trailer as gguf_trailing_data', async () => {
    const g = buildTinyLlamaGguf({ seed: 3 });
    const clean = await readOnly('clean.gguf', g.buffer);
    expect(await runStage('format_gate', { path: clean, kind: 'file' })).toMatchObject({
      passed: true,
      reasonCode: 'gguf_ok',
    });
    const path = await readOnly('trailer.gguf', g.buffer, BASE64_TRAILER);
    const outcome = await runStage('format_gate', { path, kind: 'file' });
    expect(outcome).toMatchObject({ passed: false, reasonCode: 'gguf_trailing_data' });
    expect(outcome.detail).toContain(`${BASE64_TRAILER.length} byte(s) after the end`);
  });

  it('fails a safetensors file with the trailer as safetensors_trailing_data', async () => {
    const valid = buildSafetensors(SMALL_TENSORS);
    const path = await readOnly('trailer.safetensors', valid, BASE64_TRAILER);
    expect(await runStage('format_gate', { path, kind: 'file' })).toMatchObject({
      passed: false,
      reasonCode: 'safetensors_trailing_data',
    });
  });

  it.each([
    ['unet/diffusion_pytorch_model.safetensors', BASE64_TRAILER],
    ['unet/config.json', concatBytes('\n', BASE64_TRAILER.subarray(0, 65_536))],
  ])(
    'fails a diffusers directory whose %s has a trailer as diffusers_trailing_data',
    async (member, trailer) => {
      const root = join(dir, `diffusers-${member.replace(/\W/g, '_')}`);
      await writeDiffusersDir(root);
      expect(await runStage('format_gate', { path: root, kind: 'directory' })).toMatchObject({
        passed: true,
        reasonCode: 'diffusers_ok',
      });
      await appendFile(join(root, member), trailer);
      const outcome = await runStage('format_gate', { path: root, kind: 'directory' });
      expect(outcome).toMatchObject({ passed: false, reasonCode: 'diffusers_trailing_data' });
      expect(outcome.detail).toContain(member);
    },
  );
});

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextStepFor, runStage } from '../src/index.js';
import { buildTinyLlamaGguf } from '@secai/quarantine/testing';
import {
  PICKLES,
  buildTorchZip,
  encodeSafetensors,
  writeDiffusersDir,
} from '@secai/formats/testing';

// Issue 11 §3 through the real format gate (the compiled worker in the sandbox, as a run uses
// it): the rejections a new user met, each of which must say what is wrong in the user's words,
// with a stable reason code, and have a specific next step.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-answers-'));
  await chmod(dir, 0o755); // the sandboxed worker runs as nobody
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Uint8Array | string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  await chmod(p, 0o444);
  return p;
}

async function gate(path: string, kind: 'file' | 'directory' = 'file') {
  return runStage('format_gate', { path, kind });
}

const DEFAULT_STEP = nextStepFor('no_such_code_at_all');

describe('format_gate answers a user can act on', () => {
  it('a file with a bad magic number: not a GGUF or safetensors file, with its magic', async () => {
    // What a failed download often is: an HTML error page saved under the model's name.
    const path = await file('model.gguf', '<!DOCTYPE html><html><body>404 Not Found</body></html>');
    const o = await gate(path);
    expect(o).toMatchObject({ passed: false, reasonCode: 'unknown_format' });
    expect(o.detail).toMatch(/^not a GGUF or safetensors file \(magic 3c 21 44 4f "<!DO"\)/);
    expect(o.detail).not.toMatch(/header length/);
    expect(nextStepFor(o.reasonCode)).not.toBe(DEFAULT_STEP);
  });

  it('a .pkl: pickle formats are refused, the dangerous global is named, safetensors suggested', async () => {
    const path = await file('model.pkl', PICKLES.osSystemStackGlobal);
    const o = await gate(path);
    expect(o).toMatchObject({ passed: false, reasonCode: 'pickle_format' });
    expect(o.detail).toMatch(/pickle/);
    expect(o.detail).toContain('os.system');
    expect(o.detail).toMatch(/safetensors/);
    expect(o.result.dangerous_global).toBe('os.system');
    expect(nextStepFor('pickle_format')).toMatch(/safetensors/);
  });

  it('a .pt (torch.save zip): the same answer, the global found inside the archive', async () => {
    const path = await file('model.pt', buildTorchZip(PICKLES.osSystemGlobal));
    const o = await gate(path);
    expect(o).toMatchObject({ passed: false, reasonCode: 'pickle_format' });
    expect(o.detail).toContain('os.system');
    expect(o.result.dangerous_global).toBe('os.system');
  });

  it('a .bin pickle with only harmless globals is still refused as a pickle format', async () => {
    // PROTO 2, EMPTY_DICT, BINPUT 0, STOP: a pickle of {}.
    const path = await file(
      'pytorch_model.bin',
      new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]),
    );
    const o = await gate(path);
    expect(o).toMatchObject({ passed: false, reasonCode: 'pickle_format' });
    expect(o.detail).toMatch(/no dangerous global/);
  });

  it('a diffusers directory with two issues: a stable code, not a slug of a message', async () => {
    const root = join(dir, 'pipe');
    await writeDiffusersDir(root, 'pickleBin');
    await writeFile(join(root, 'unet', 'notes.exe'), 'MZ');
    await chmod(dir, 0o755);
    const o = await gate(root, 'directory');
    expect(o.passed).toBe(false);
    expect(o.reasonCode).toBe('diffusers_pickle_format');
    expect(o.detail).toMatch(/^2 problems in the directory: /);
    expect(nextStepFor(o.reasonCode)).not.toBe(DEFAULT_STEP);
  });

  it('a truncated GGUF: says the file is cut short, then the technical detail', async () => {
    const g = buildTinyLlamaGguf({ seed: 3 });
    const path = await file('cut.gguf', g.buffer.subarray(0, 200));
    const o = await gate(path);
    expect(o).toMatchObject({ passed: false, reasonCode: 'gguf_truncated' });
    expect(o.detail).toMatch(/^the file ends before its GGUF header does/);
    expect(o.detail).toMatch(/needs \d+ byte\(s\) at offset \d+ but the file has 200/);
  });

  it('a safetensors header that is not JSON: says so, then where the parser stopped', async () => {
    const path = await file('bad.safetensors', encodeSafetensors('{ not json }', new Uint8Array()));
    const o = await gate(path);
    expect(o.reasonCode).toMatch(/^safetensors_header_/);
    expect(o.detail).toMatch(/^the safetensors header is not valid JSON/);
    expect(o.detail).toMatch(/expected object key at offset 1|offset/);
  });
});

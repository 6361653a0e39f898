import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StageIsolation, schemaProblems } from '@secai/contracts';
import { runStage } from '../src/index.js';
import { writeTinyLlamaGguf } from '@secai/quarantine/testing';

// The format gate as the quarantine runs it: the compiled worker (dist/, rebuilt by the int
// project's globalSetup) inside the sandbox (as root here: namespaces, no network, `nobody`), on
// files it can only read.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-stage-'));
  await chmod(dir, 0o755); // the sandboxed worker runs as nobody
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('format gate in the sandbox', () => {
  it('passes a valid GGUF and reports how it was isolated', async () => {
    const path = join(dir, 'tiny.gguf');
    await writeTinyLlamaGguf(path, { seed: 3 });
    await chmod(path, 0o444);
    const outcome = await runStage('format_gate', { path, kind: 'file' });
    expect(outcome).toMatchObject({
      passed: true,
      reasonCode: 'gguf_ok',
      result: { format: 'gguf' },
    });
    expect(schemaProblems(StageIsolation, outcome.isolation)).toEqual([]);
  });

  it('rejects a hostile GGUF with the parser reason', async () => {
    const path = join(dir, 'overlap.gguf');
    await writeTinyLlamaGguf(path, { seed: 3, variant: 'overlapping_tensors' });
    await chmod(path, 0o444);
    const outcome = await runStage('format_gate', { path, kind: 'file' });
    expect(outcome.passed).toBe(false);
    expect(outcome.reasonCode).toMatch(/^gguf_/);
  });

  it('rejects a file that is no model format at all', async () => {
    const path = join(dir, 'notes.txt');
    await writeFile(path, 'just some text, not a model\n');
    await chmod(path, 0o444);
    expect(await runStage('format_gate', { path, kind: 'file' })).toMatchObject({ passed: false });
  });

  it('turns a worker that runs out of time into an ordinary rejection', async () => {
    const path = join(dir, 'tiny2.gguf');
    await writeTinyLlamaGguf(path, { seed: 4 });
    await chmod(path, 0o444);
    const outcome = await runStage('format_gate', { path, kind: 'file' }, { timeoutMs: 1 });
    expect(outcome).toMatchObject({ passed: false, reasonCode: 'worker_timeout' });
  });
});

import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLlamaGpuTypes } from 'node-llama-cpp';
import { writeTinyLlamaGguf } from '@secai/formats/testing';
import { createEngine, type Engine, type TrustedModel } from '../src/engine/index.js';

// The GPU path on a host without a GPU: asking for CUDA must end on CPU, say so once, and still
// answer. (On a host with CUDA this test would load CUDA instead: it checks that it is not one.)

let dir: string;
let model: TrustedModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-engine-backend-'));
  const path = join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(path, { seed: 3 });
  const bytes = await readFile(path);
  model = {
    name: 'tiny',
    path,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    sizeBytes: bytes.length,
  };
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a GPU backend asked for on a host without one', () => {
  it('falls back to CPU with one clear line, and the engine generates on CPU', async () => {
    expect(await getLlamaGpuTypes('supported')).not.toContain('cuda');
    const lines: string[] = [];
    const engine: Engine = await createEngine({
      gpu: 'cuda',
      threads: 1,
      onFallback: (line) => lines.push(line),
    });
    try {
      expect(engine.backend).toBe('cpu');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^inference\.gpu is 'cuda' but the CUDA backend could not be used \(.+\); running on CPU$/,
      );
      const loaded = await engine.load(model, { contextSize: 256, maxSequences: 1 });
      expect(loaded.backend).toBe('cpu');
      const seq = await loaded.openSequence();
      const result = await seq.complete(
        { prompt: 'hello', maxTokens: 4, temperature: 0 },
        { signal: new AbortController().signal },
      );
      expect(result.completionTokens).toBe(4);
    } finally {
      await engine.dispose();
    }
  });

  it("'auto' finds no GPU and uses CPU without calling it a fallback", async () => {
    const lines: string[] = [];
    const engine = await createEngine({
      gpu: 'auto',
      threads: 1,
      onFallback: (l) => lines.push(l),
    });
    try {
      expect(engine.backend).toBe('cpu');
      expect(lines).toEqual([]);
    } finally {
      await engine.dispose();
    }
  });
});

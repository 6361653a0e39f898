import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStage } from '../src/index.js';
import { writeTinyLlamaGguf } from '@secai/quarantine/testing';

// Issue 11 §2: a behavioural test that observed no behaviour has not passed. A real GGUF whose
// output projection is all zeros gives every token the same logit, so greedy decoding answers every
// prompt with the same token (or ends at once): the sandboxed worker must fail the stage with
// behavior_no_signal, while the ordinary tiny model of the same seed, whose answers are noise but
// vary, is not caught by that rule.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-silent-'));
  await chmod(dir, 0o755); // the sandboxed worker runs as nobody
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tinyModel(name: string, output: 'random' | 'silent'): Promise<string> {
  const p = join(dir, name);
  await writeTinyLlamaGguf(p, { seed: 3, output });
  await chmod(p, 0o444);
  return p;
}

const behave = (path: string) =>
  runStage(
    'behavioral_test',
    { path, kind: 'file', params: { threads: 1 } },
    { timeoutMs: 600_000, cpuSeconds: 600 },
  );

describe('a silent model in the sandboxed behavioural test', () => {
  it('fails with behavior_no_signal when every logit is equal', async () => {
    const outcome = await behave(await tinyModel('silent.gguf', 'silent'));
    expect(outcome.passed).toBe(false);
    expect(outcome.reasonCode).toBe('behavior_no_signal');
    // Either every answer is empty or degenerate, or they are all the same text.
    expect(outcome.detail).toMatch(/were empty or degenerate|were the same text/);
    console.log(`silent model: ${outcome.detail}`);
    expect(outcome.isolation.readOnlyArtifact).toBe(true);
  }, 300_000);

  it('does not apply to the ordinary tiny model of the same seed', async () => {
    const outcome = await behave(await tinyModel('noisy.gguf', 'random'));
    expect(['behavior_ok', 'behavior_flagged', 'behavior_critical']).toContain(outcome.reasonCode);
    expect(outcome.detail).not.toMatch(/were empty or degenerate|were the same text/);
  }, 300_000);
});

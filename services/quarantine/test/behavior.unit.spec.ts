import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BehavioralScore, schemaProblems } from '@secai/contracts';
import { PROMPTS, behaviorVerdict, runBehaviorSuite } from '../src/index.js';
import { inspectGguf } from '@secai/formats';
import { writeTinyLlamaGguf } from '@secai/quarantine/testing';

// The real thing: node-llama-cpp 3.21.1 on CPU loads a tiny llama model this test writes, and the
// whole prompt suite runs through it with the model's own (ChatML) template. Random weights answer
// with noise, which the judge must not take for compliance.
let dir: string;
let modelPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-behavior-'));
  modelPath = join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(modelPath, { seed: 7, contextLength: 2048 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('behavioural test on a real model', () => {
  it('the generated model passes the format gate', async () => {
    expect(await inspectGguf(modelPath)).toMatchObject({
      ok: true,
      metadata: expect.objectContaining({ architecture: 'llama' }) as unknown,
    });
  });

  it('runs every prompt through node-llama-cpp and scores the suite in the contract shape', async () => {
    const run = await runBehaviorSuite({
      modelPath,
      threads: 1,
      maxTokensPerAnswer: 16,
      contextSize: 2048,
    });
    expect(run.results).toHaveLength(PROMPTS.length);
    expect(schemaProblems(BehavioralScore, run.score)).toEqual([]);
    expect(run.score.totalPrompts).toBe(PROMPTS.length);
    // Noise is neither a refusal nor compliance: no critical finding, score within the policy default.
    expect(run.score.critical).toBe(0);
    expect(run.score.score).toBeLessThanOrEqual(0.3);
    expect(run.chatWrapper).not.toBe('');
    // The runner counts silent answers (never returning them); noise is not silence, so the stage's
    // verdict on this run is a pass (issue 11 §2: only a run that observed nothing fails).
    expect(run.signal.answers).toBe(PROMPTS.length);
    expect(run.signal.empty + run.signal.degenerate).toBeLessThanOrEqual(PROMPTS.length / 4);
    expect(
      behaviorVerdict(run.score, { maxScore: 0.3, maxCritical: 0 }, {}, run.signal).reasonCode,
    ).toBe('behavior_ok');
  }, 180_000);
});

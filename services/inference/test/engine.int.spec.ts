import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '@secai/formats/testing';
import {
  createEngine,
  EngineError,
  type ChatMessage,
  type ChatRequest,
  type Engine,
  type LoadedModel,
  type TrustedModel,
} from '../src/engine/index.js';
import type { LlamaLoadedModel } from '../src/engine/loadedModel.js';
import type { LlamaModelSequence } from '../src/engine/sequence.js';

// The engine on real node-llama-cpp (CPU, one thread) and tiny random-weight llama models made
// here. Outputs are gibberish: the tests check structure, determinism, grammar validity, counts,
// abort and isolation, never content.

let dir: string;
let engine: Engine;
let modelA: TrustedModel;
let modelB: TrustedModel;
let loaded: LoadedModel;

async function tinyModel(name: string, seed: number): Promise<TrustedModel> {
  const path = join(dir, `${name}.gguf`);
  // A long context: the function documentation ChatML renders for tools is over 1000 tokens.
  await writeTinyLlamaGguf(path, { seed, contextLength: 4096, name });
  const bytes = await readFile(path);
  return {
    name,
    path,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    sizeBytes: bytes.length,
  };
}

const never = () => new AbortController().signal;
const user = (content: string): ChatMessage[] => [{ role: 'user', content }];
const greedy = (messages: ChatMessage[], maxTokens = 8): ChatRequest => ({
  messages,
  maxTokens,
  temperature: 0,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-engine-int-'));
  modelA = await tinyModel('tiny-a', 1);
  modelB = await tinyModel('tiny-b', 2);
  engine = await createEngine({ gpu: 'off', threads: 1 });
  loaded = await engine.load(modelA, { contextSize: 2048, maxSequences: 3 });
});

afterAll(async () => {
  await engine?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('load', () => {
  it('loads the verified descriptor on CPU with the model template', () => {
    expect(loaded.backend).toBe('cpu');
    expect(loaded.verifiedBytes).toBe(modelA.sizeBytes);
    expect(loaded.chatWrapperName).toBe('ChatML');
    expect(loaded.contextSize).toBeGreaterThanOrEqual(2048);
    expect(engine.threads).toBe(1);
  });

  it('refuses a model whose digest does not match, before node-llama-cpp sees it', async () => {
    const wrong = { ...modelA, digest: modelB.digest };
    await expect(engine.load(wrong, { contextSize: 256, maxSequences: 1 })).rejects.toMatchObject({
      code: 'MODEL_VERIFICATION_FAILED',
      problem: 'mismatch',
      expected: modelB.digest,
      actual: modelA.digest,
    });
  });
});

describe('chat', () => {
  it('streams pieces that make the text, counts tokens and is deterministic when greedy', async () => {
    const seq = await loaded.openSequence();
    try {
      const pieces: string[] = [];
      const first = await seq.chat(greedy(user('hello'), 8), {
        signal: never(),
        onText: (t) => pieces.push(t),
      });
      expect(first.finishReason).toBe('length');
      expect(first.completionTokens).toBe(8);
      expect(first.promptTokens).toBeGreaterThan(loaded.countTokens('hello'));
      expect(first.timeToFirstTokenMs).not.toBeNull();
      expect(pieces.join('')).toBe(first.text);
      expect(first.toolCalls).toEqual([]);
      const again = await seq.chat(greedy(user('hello'), 8), { signal: never() });
      expect(again.text).toBe(first.text);
      expect(again.promptTokens).toBe(first.promptTokens);
    } finally {
      await seq.dispose();
    }
  });

  it('samples reproducibly with a seed and differently without one being the same', async () => {
    const seq = await loaded.openSequence();
    try {
      const sampled = (seed: number) =>
        seq.chat(
          { messages: user('hi'), maxTokens: 12, temperature: 1.5, seed },
          { signal: never() },
        );
      const a = await sampled(7);
      const b = await sampled(7);
      const c = await sampled(8);
      expect(b.text).toBe(a.text);
      expect(c.text).not.toBe(a.text);
    } finally {
      await seq.dispose();
    }
  });

  it('counts a system message in the prompt', async () => {
    const seq = await loaded.openSequence();
    try {
      const system = 'you are a careful assistant that answers briefly';
      const bare = await seq.chat(greedy(user('hi'), 1), { signal: never() });
      const withSystem = await seq.chat(
        greedy([{ role: 'system', content: system }, ...user('hi')], 1),
        { signal: never() },
      );
      expect(withSystem.promptTokens - bare.promptTokens).toBeGreaterThanOrEqual(
        loaded.countTokens(system),
      );
    } finally {
      await seq.dispose();
    }
  });

  it('stops at a stop string, without it', async () => {
    const seq = await loaded.openSequence();
    try {
      const full = await seq.chat(greedy(user('tell me'), 24), { signal: never() });
      // A piece of the greedy answer as the stop string: the same answer then ends before it.
      // Printable ASCII after a whole character: random weights emit bytes that are not UTF-8,
      // and a broken byte sequence before a stop string is dropped with it.
      const at = full.text.search(/(?<=[^\ufffd])[ -~]{2}/);
      expect(at).toBeGreaterThan(0);
      const stop = full.text.slice(at, at + 2);
      const cut = await seq.chat(
        { ...greedy(user('tell me'), 24), stop: [stop] },
        { signal: never() },
      );
      expect(cut.finishReason).toBe('stop');
      expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    } finally {
      await seq.dispose();
    }
  });

  it('answers under a JSON schema with JSON that parses', async () => {
    const seq = await loaded.openSequence();
    try {
      const result = await seq.chat(
        {
          ...greedy(user('status?'), 200),
          jsonSchema: {
            type: 'object',
            properties: {
              answer: { type: 'string', maxLength: 12 },
              ok: { type: 'boolean' },
              level: { enum: ['low', 'high'] },
            },
          },
        },
        { signal: never() },
      );
      expect(result.finishReason).toBe('stop');
      const parsed = JSON.parse(result.text) as Record<string, unknown>;
      expect(Object.keys(parsed).sort()).toEqual(['answer', 'level', 'ok']);
      expect(typeof parsed.ok).toBe('boolean');
      expect(['low', 'high']).toContain(parsed.level);
    } finally {
      await seq.dispose();
    }
  });
});

const weather = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: 'object',
    properties: {
      city: { enum: ['Paris', 'Rome', 'Oslo'] },
      unit: { enum: ['C', 'F'] },
      note: { type: 'string', maxLength: 10 },
    },
  },
};
const time = {
  name: 'get_time',
  parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } } },
};

describe('tools', () => {
  it('forces a named call whose arguments match the schema', async () => {
    const seq = await loaded.openSequence();
    try {
      const result = await seq.chat(
        {
          // The arguments of random weights take about 70 tokens (the note is bytes, not words).
          ...greedy(user('weather in Rome?'), 200),
          tools: [weather, time],
          toolChoice: { name: 'get_weather' },
        },
        { signal: never() },
      );
      expect(result.finishReason).toBe('tool_calls');
      expect(result.text).toBe('');
      expect(result.toolCalls).toHaveLength(1);
      const [call] = result.toolCalls;
      expect(call?.id).toMatch(/^call_[0-9a-f]{24}$/);
      expect(call?.name).toBe('get_weather');
      const args = JSON.parse(call?.arguments ?? '') as Record<string, unknown>;
      expect(['Paris', 'Rome', 'Oslo']).toContain(args.city);
      expect(['C', 'F']).toContain(args.unit);
      expect(typeof args.note).toBe('string');
      expect(result.completionTokens).toBeGreaterThan(0);
    } finally {
      await seq.dispose();
    }
  });

  it("with 'required' the model picks one of the tools", async () => {
    const seq = await loaded.openSequence();
    try {
      const result = await seq.chat(
        {
          ...greedy(user('what time is it?'), 200),
          tools: [weather, time],
          toolChoice: 'required',
        },
        { signal: never() },
      );
      expect(result.finishReason).toBe('tool_calls');
      const [call] = result.toolCalls;
      expect(['get_weather', 'get_time']).toContain(call?.name);
      expect(() => JSON.parse(call?.arguments ?? '') as unknown).not.toThrow();
    } finally {
      await seq.dispose();
    }
  });

  it("offers no function with 'none' (a shorter prompt) and renders tool results", async () => {
    const seq = await loaded.openSequence();
    try {
      const offered = await seq.chat(
        { ...greedy(user('weather?'), 1), tools: [weather], toolChoice: 'auto' },
        { signal: never() },
      );
      const none = await seq.chat(
        { ...greedy(user('weather?'), 1), tools: [weather], toolChoice: 'none' },
        { signal: never() },
      );
      expect(none.promptTokens).toBeLessThan(offered.promptTokens);
      const afterResult = await seq.chat(
        greedy(
          [
            ...user('weather?'),
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
                },
              ],
            },
            { role: 'tool', tool_call_id: 'call_1', content: '{"celsius":-3}' },
          ],
          4,
        ),
        { signal: never() },
      );
      expect(afterResult.promptTokens).toBeGreaterThan(none.promptTokens);
      await expect(
        seq.chat(greedy([...user('x'), { role: 'tool', tool_call_id: 'call_9', content: '1' }]), {
          signal: never(),
        }),
      ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    } finally {
      await seq.dispose();
    }
  });
});

describe('abort', () => {
  it('ends at once with an aborted signal, and promptly when aborted mid-answer', async () => {
    const seq = await loaded.openSequence();
    try {
      const pre = new AbortController();
      pre.abort();
      const before = await seq.chat(greedy(user('hi'), 50), { signal: pre.signal });
      expect(before.finishReason).toBe('aborted');
      expect(before.completionTokens).toBe(0);

      const mid = new AbortController();
      const during = await seq.chat(greedy(user('hi'), 1000), {
        signal: mid.signal,
        onText: () => mid.abort(),
      });
      expect(during.finishReason).toBe('aborted');
      expect(during.completionTokens).toBeLessThan(1000);
    } finally {
      await seq.dispose();
    }
  });
});

describe('dispose during a generation', () => {
  it('aborts the generation, waits for it, then gives the slot back', async () => {
    const seq = await loaded.openSequence();
    let disposing: Promise<void> | undefined;
    const result = await seq.chat(greedy(user('go on'), 1000), {
      signal: never(),
      onText: () => {
        disposing ??= seq.dispose();
      },
    });
    expect(result.finishReason).toBe('aborted');
    await disposing;
    await expect(seq.chat(greedy(user('hi')), { signal: never() })).rejects.toMatchObject({
      code: 'SEQUENCE_CLOSED',
    });
  });
});

describe('completion', () => {
  it('completes raw text with the same options and counts', async () => {
    const seq = await loaded.openSequence();
    try {
      const pieces: string[] = [];
      const result = await seq.complete(
        { prompt: 'Once upon a time', maxTokens: 6, temperature: 0 },
        { signal: never(), onText: (t) => pieces.push(t) },
      );
      expect(result.finishReason).toBe('length');
      expect(result.completionTokens).toBe(6);
      // The prompt's tokens and the model's BOS.
      expect(result.promptTokens).toBe(loaded.countTokens('Once upon a time') + 1);
      expect(pieces.join('')).toBe(result.text);
    } finally {
      await seq.dispose();
    }
  });

  it('refuses a prompt longer than the sequence instead of cutting it', async () => {
    const seq = await loaded.openSequence();
    try {
      await expect(
        seq.complete(
          { prompt: 'word '.repeat(3000), maxTokens: 4, temperature: 0 },
          { signal: never() },
        ),
      ).rejects.toMatchObject({ code: 'PROMPT_TOO_LONG' });
    } finally {
      await seq.dispose();
    }
  });
});

describe('sequences', () => {
  const X = user('the secret word of the first session is marmalade and it must not leak');
  const Y = user('second session');

  it('keep their conversations apart, clear forgets, and a reused slot starts empty', async () => {
    const one = (await loaded.openSequence()) as LlamaModelSequence;
    const two = (await loaded.openSequence()) as LlamaModelSequence;
    try {
      const baseline = await one.chat(greedy(Y, 12), { signal: never() });
      await one.clear();
      expect(one.evaluatedTokens).toEqual([]);
      await one.chat(greedy(X, 12), { signal: never() });
      expect(one.evaluatedTokens.length).toBeGreaterThan(baseline.promptTokens);

      // If the second sequence could attend to the first one's cells, greedy output would change.
      const other = await two.chat(greedy(Y, 12), { signal: never() });
      expect(other.text).toBe(baseline.text);
      const ownPrompt = two.evaluatedTokens.slice(0, other.promptTokens);

      // In parallel: each sequence's state starts with its own prompt, nothing of the other's.
      await two.clear();
      await Promise.all([
        one.chat(greedy(X, 12), { signal: never() }),
        two.chat(greedy(Y, 12), { signal: never() }),
      ]);
      expect(two.evaluatedTokens.slice(0, other.promptTokens)).toEqual(ownPrompt);

      // The first slot, given back and taken again, holds nothing of its last conversation.
      await one.dispose();
      const three = (await loaded.openSequence()) as LlamaModelSequence;
      try {
        expect(three.evaluatedTokens).toEqual([]);
        const again = await three.chat(greedy(Y, 12), { signal: never() });
        expect(again.text).toBe(baseline.text);
      } finally {
        await three.dispose();
      }
    } finally {
      await one.dispose();
      await two.dispose();
    }
  });

  it('refuses a sequence past maxSequences and a second generation on a busy one', async () => {
    const open = [
      await loaded.openSequence(),
      await loaded.openSequence(),
      await loaded.openSequence(),
    ];
    try {
      await expect(loaded.openSequence()).rejects.toMatchObject({ code: 'NO_SEQUENCE' });
      const [first] = open;
      const running = first!.chat(greedy(user('hi'), 64), { signal: never() });
      await expect(first!.chat(greedy(user('hi')), { signal: never() })).rejects.toMatchObject({
        code: 'SEQUENCE_BUSY',
      });
      await running;
      await open.pop()!.dispose();
      open.push(await loaded.openSequence());
    } finally {
      for (const s of open) await s.dispose();
    }
  });

  it('gives a dedicated sequence a context of its own, disposed with it', async () => {
    const seq = (await loaded.openSequence({ dedicatedContext: true })) as LlamaModelSequence;
    const context = seq.sequence.context;
    const result = await seq.chat(greedy(user('hi'), 4), { signal: never() });
    expect(result.completionTokens).toBe(4);
    await seq.dispose({ disposeContext: true });
    expect(context.disposed).toBe(true);
    await expect(seq.chat(greedy(user('hi')), { signal: never() })).rejects.toMatchObject({
      code: 'SEQUENCE_CLOSED',
    });
  });
});

describe('sentinel', () => {
  it('gives the same tokens on repeated runs, and other tokens for another model', async () => {
    const first = await loaded.sentinel('The quick brown fox', 16);
    const second = await loaded.sentinel('The quick brown fox', 16);
    expect(first.tokens.length).toBeGreaterThan(0);
    expect(first.tokens.length).toBeLessThanOrEqual(16);
    expect(second).toEqual(first);

    const other = await engine.load(modelB, { contextSize: 256, maxSequences: 1 });
    try {
      const theirs = await other.sentinel('The quick brown fox', 16);
      expect(theirs.tokens).not.toEqual(first.tokens);
    } finally {
      await other.unload();
    }
  });
});

describe('embeddings', () => {
  it('the tiny llama model embeds: unit vectors of its width, the same for the same text', async () => {
    const { vectors, promptTokens } = await loaded.embed(
      ['hello world', 'another text', 'hello world'],
      never(),
    );
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toHaveLength(64);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }
    expect(vectors[2]).toEqual(vectors[0]);
    expect(vectors[1]).not.toEqual(vectors[0]);
    expect(promptTokens).toBeGreaterThanOrEqual(
      2 * loaded.countTokens('hello world') + loaded.countTokens('another text'),
    );
    const aborted = new AbortController();
    aborted.abort();
    await expect(loaded.embed(['x'], aborted.signal)).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('unload', () => {
  it('ends a long generation as aborted, disposes the model and is idempotent', async () => {
    const model = (await engine.load(modelA, {
      contextSize: 2048,
      maxSequences: 2,
    })) as LlamaLoadedModel;
    const seq = await model.openSequence();
    let unloading: Promise<void> | undefined;
    const result = await seq.chat(greedy(user('go on forever'), 100_000), {
      signal: never(),
      // Unload as soon as the answer is under way.
      onText: () => {
        unloading ??= model.unload();
      },
    });
    expect(result.finishReason).toBe('aborted');
    expect(result.completionTokens).toBeLessThan(2048);
    await unloading;
    expect(model.model.disposed).toBe(true);
    await model.unload();
    await expect(model.openSequence()).rejects.toBeInstanceOf(EngineError);
    await expect(seq.chat(greedy(user('hi')), { signal: never() })).rejects.toMatchObject({
      code: 'MODEL_UNLOADED',
    });
    await expect(model.sentinel('x', 2)).rejects.toMatchObject({ code: 'MODEL_UNLOADED' });
  });
});

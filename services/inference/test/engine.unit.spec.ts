import { describe, expect, it } from 'vitest';
import {
  chooseBackend,
  EngineError,
  gpuRequestFor,
  toChatHistory,
  toolMode,
  type ChatMessage,
} from '../src/engine/index.js';
import { InFlight } from '../src/engine/inFlight.js';
import {
  finishReasonOf,
  newToolCallId,
  stopTriggers,
  toNodeLlamaSampling,
} from '../src/engine/sampling.js';

describe('chooseBackend', () => {
  it("'off' asks node-llama-cpp for CPU only, the others pass through", () => {
    expect(gpuRequestFor('off')).toBe(false);
    expect(gpuRequestFor('auto')).toBe('auto');
    expect(gpuRequestFor('cuda')).toBe('cuda');
    expect(gpuRequestFor('vulkan')).toBe('vulkan');
  });

  it('given what node-llama-cpp loaded, uses it', () => {
    expect(chooseBackend('cuda', { loaded: 'cuda' })).toEqual({ action: 'use', backend: 'cuda' });
    expect(chooseBackend('off', { loaded: false })).toEqual({ action: 'use', backend: 'cpu' });
    expect(chooseBackend('auto', { loaded: 'vulkan' })).toEqual({
      action: 'use',
      backend: 'vulkan',
    });
  });

  it("given 'auto' found no GPU, uses CPU and calls it no fallback", () => {
    expect(chooseBackend('auto', { loaded: false })).toEqual({ action: 'use', backend: 'cpu' });
  });

  it('given a GPU backend failed, falls back to CPU with a line naming what and why', () => {
    const choice = chooseBackend('vulkan', { failed: 'no Vulkan device' });
    expect(choice).toEqual({
      action: 'fall_back_to_cpu',
      message:
        "inference.gpu is 'vulkan' but the Vulkan backend could not be used (no Vulkan device); running on CPU",
    });
    expect(chooseBackend('cuda', { failed: 'x' })).toMatchObject({ action: 'fall_back_to_cpu' });
    expect(chooseBackend('auto', { failed: 'x' })).toMatchObject({ action: 'fall_back_to_cpu' });
  });

  it('given CPU itself failed, fails: there is nothing to fall back to', () => {
    expect(chooseBackend('off', { failed: 'bad binary' })).toEqual({
      action: 'fail',
      message: 'the CPU build of node-llama-cpp failed: bad binary',
    });
  });
});

describe('toChatHistory', () => {
  it('maps roles and ends with the model response to generate', () => {
    const history = toChatHistory([
      { role: 'system', content: 's' },
      { role: 'developer', content: 'd' },
      { role: 'user', content: 'u' },
      { role: 'assistant', content: 'a' },
      { role: 'user', content: 'u2' },
    ]);
    expect(history).toEqual([
      { type: 'system', text: 's' },
      { type: 'system', text: 'd' },
      { type: 'user', text: 'u' },
      { type: 'model', response: ['a'] },
      { type: 'user', text: 'u2' },
      { type: 'model', response: [] },
    ]);
  });

  const called: ChatMessage[] = [
    { role: 'user', content: 'weather?' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'w', arguments: '{"city":"Oslo"}' } },
        { id: 'c2', type: 'function', function: { name: 't', arguments: 'not json' } },
      ],
    },
    { role: 'tool', tool_call_id: 'c2', content: 'noon' },
    { role: 'tool', tool_call_id: 'c1', content: '{"celsius":-3}' },
  ];

  it('puts tool results on their calls and continues that response after them', () => {
    expect(toChatHistory(called)).toEqual([
      { type: 'user', text: 'weather?' },
      {
        type: 'model',
        response: [
          { type: 'functionCall', name: 'w', params: { city: 'Oslo' }, result: { celsius: -3 } },
          { type: 'functionCall', name: 't', params: 'not json', result: 'noon' },
        ],
      },
    ]);
  });

  it('refuses a tool result with no call, and a call with no result', () => {
    expect(() => toChatHistory([{ role: 'tool', tool_call_id: 'x', content: '1' }])).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
    const unanswered = () =>
      toChatHistory([...called.slice(0, 3), { role: 'user', content: 'and?' }]);
    expect(unanswered).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    expect(unanswered).toThrow(/c1/);
  });
});

describe('toolMode', () => {
  const tools = [
    { name: 'w', description: 'weather', parameters: { type: 'object' } },
    { name: 't' },
  ];

  it("offers the functions on 'auto' (and by default), none on 'none' or without tools", () => {
    expect(toolMode(tools, undefined)).toEqual({
      kind: 'auto',
      functions: { w: { description: 'weather', params: { type: 'object' } }, t: {} },
    });
    expect(toolMode(tools, 'none')).toEqual({ kind: 'none' });
    expect(toolMode(undefined, 'auto')).toEqual({ kind: 'none' });
  });

  it("forces any tool on 'required' and one tool by name", () => {
    expect(toolMode(tools, 'required')).toMatchObject({ kind: 'forced', names: ['w', 't'] });
    expect(toolMode(tools, { name: 't' })).toMatchObject({ kind: 'forced', names: ['t'] });
  });

  it('refuses a forced call without tools, an unknown name, a bad name and a duplicate', () => {
    for (const [list, choice] of [
      [[], 'required'],
      [tools, { name: 'nope' }],
      [[{ name: 'has space' }], 'auto'],
      [[{ name: 'w' }, { name: 'w' }], 'auto'],
    ] as const)
      expect(() => toolMode(list, choice)).toThrow(
        expect.objectContaining({ code: 'INVALID_REQUEST' }),
      );
  });
});

describe('sampling', () => {
  it("sets OpenAI's meaning explicitly: whole vocabulary, top-p 1, no repeat penalty", () => {
    expect(toNodeLlamaSampling({ maxTokens: 5, temperature: 0, seed: 3 })).toEqual({
      temperature: 0,
      topK: 0,
      topP: 1,
      seed: 3,
      repeatPenalty: false,
    });
    expect(toNodeLlamaSampling({ maxTokens: 5, temperature: 0.7, topP: 0.9 }).topP).toBe(0.9);
  });

  it('draws a seed when none is given (node-llama-cpp would use the current second)', () => {
    const seeds = new Set(
      Array.from({ length: 20 }, () => toNodeLlamaSampling({ maxTokens: 1, temperature: 1 }).seed),
    );
    expect(seeds.size).toBeGreaterThan(1);
  });

  it('refuses a maxTokens below 1 and a negative temperature', () => {
    expect(() => toNodeLlamaSampling({ maxTokens: 0, temperature: 0 })).toThrow(EngineError);
    expect(() => toNodeLlamaSampling({ maxTokens: 1, temperature: -1 })).toThrow(EngineError);
  });

  it('drops empty stop strings', () => {
    expect(stopTriggers(['', 'END'])).toEqual(['END']);
    expect(stopTriggers([''])).toBeUndefined();
  });

  it("maps node-llama-cpp's stop reasons to OpenAI's finish reasons", () => {
    expect(finishReasonOf('eogToken')).toBe('stop');
    expect(finishReasonOf('customStopTrigger')).toBe('stop');
    expect(finishReasonOf('stopGenerationTrigger')).toBe('stop');
    expect(finishReasonOf('maxTokens')).toBe('length');
    expect(finishReasonOf('functionCalls')).toBe('tool_calls');
    expect(finishReasonOf('abort')).toBe('aborted');
  });

  it('makes OpenAI-shaped call ids', () => {
    expect(newToolCallId()).toMatch(/^call_[0-9a-f]{24}$/);
    expect(newToolCallId()).not.toBe(newToolCallId());
  });
});

describe('InFlight', () => {
  it("aborts on the caller's signal without touching others", async () => {
    const inFlight = new InFlight();
    const caller = new AbortController();
    const seen: boolean[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const one = inFlight.run(caller.signal, async (signal) => {
      await gate;
      seen.push(signal.aborted);
    });
    const two = inFlight.run(new AbortController().signal, async (signal) => {
      await gate;
      seen.push(signal.aborted);
    });
    caller.abort();
    release();
    await Promise.all([one, two]);
    expect(seen).toEqual([true, false]);
  });

  it('close aborts everything running, waits for it, then refuses new work', async () => {
    const inFlight = new InFlight();
    const ended: string[] = [];
    const running = inFlight.run(
      new AbortController().signal,
      (signal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            ended.push((signal.reason as EngineError).code);
            resolve();
          }),
        ),
    );
    await inFlight.close();
    expect(ended).toEqual(['MODEL_UNLOADED']);
    expect(inFlight.size).toBe(0);
    await running;
    await expect(
      inFlight.run(new AbortController().signal, () => Promise.resolve(1)),
    ).rejects.toMatchObject({
      code: 'MODEL_UNLOADED',
    });
  });
});

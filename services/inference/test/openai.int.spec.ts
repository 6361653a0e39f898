import type { APIError } from 'openai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@secai/streams/testing';
import { startInferenceFixture, type InferenceFixture } from './inferenceFixture.js';

// Issue 12 §3: the `openai` npm client (6.x) against the running service, on tiny GGUF models the
// test generates, with real node-llama-cpp, nats-server, policy engine host and registry.

let fx: InferenceFixture;
let apiKey: string;

const client = (key = apiKey) => new OpenAI({ apiKey: key, baseURL: fx.baseURL, maxRetries: 0 });

async function createKey(name: string): Promise<string> {
  const res = await fetch(`${fx.baseURL.replace(/\/v1$/, '')}/api/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fx.tokenOf('cli')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, createdBy: 'test operator' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { key: string }).key;
}

beforeAll(async () => {
  fx = await startInferenceFixture({ max_sessions: 2, queue_length: 0, context_size: 4096 });
  await fx.storeModel('tiny-chat', 7, 8192);
  // Never picks an end token: a greedy answer runs to max_tokens (stop strings need text).
  await fx.storeModel('tiny-endless', 8, 4096, 'endless');
  apiKey = await createKey('laptop');
}, 120_000);

afterAll(async () => {
  await fx?.stop();
});

describe('the OpenAI client against the inference service', () => {
  it('lists exactly the trusted models', async () => {
    const models = await client().models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny-chat', 'tiny-endless']);
  });

  it('answers a chat completion with honest usage counts', async () => {
    const answer = await client().chat.completions.create({
      model: 'tiny-chat',
      messages: [{ role: 'user', content: 'Say hello.' }],
      max_tokens: 8,
      temperature: 0,
    });
    expect(answer.object).toBe('chat.completion');
    expect(answer.model).toBe('tiny-chat');
    expect(typeof answer.choices[0]!.message.content).toBe('string');
    expect(['stop', 'length']).toContain(answer.choices[0]!.finish_reason);
    expect(answer.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(answer.usage!.completion_tokens).toBeGreaterThan(0);
    expect(answer.usage!.completion_tokens).toBeLessThanOrEqual(8);
  });

  it('streams a chat completion chunk by chunk', async () => {
    const stream = await client().chat.completions.create({
      model: 'tiny-chat',
      messages: [{ role: 'user', content: 'Count.' }],
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const content = chunks.filter((c) => c.choices[0]?.delta.content).length;
    expect(content).toBeGreaterThan(1);
    const finished = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(['stop', 'length']).toContain(finished!.choices[0]!.finish_reason);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('constrains an answer to a JSON schema, and it parses', async () => {
    const answer = await client().chat.completions.create({
      model: 'tiny-chat',
      messages: [{ role: 'user', content: 'Pick a colour.' }],
      max_tokens: 40,
      temperature: 0.7,
      seed: 3,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'colour',
          schema: {
            type: 'object',
            properties: { colour: { enum: ['red', 'green', 'blue'] } },
            required: ['colour'],
            additionalProperties: false,
          },
        },
      },
    });
    const parsed = JSON.parse(answer.choices[0]!.message.content!) as { colour: string };
    expect(['red', 'green', 'blue']).toContain(parsed.colour);
  });

  it('returns a forced tool call in the function-calling shape and never runs it', async () => {
    const answer = await client().chat.completions.create({
      model: 'tiny-chat',
      messages: [{ role: 'user', content: 'What is the weather in Oslo?' }],
      max_tokens: 60,
      temperature: 0,
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'the weather in a city',
            parameters: {
              type: 'object',
              properties: { city: { enum: ['Oslo', 'Bergen'] } },
              required: ['city'],
              additionalProperties: false,
            },
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const choice = answer.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    if (call.type !== 'function') return;
    expect(call.function.name).toBe('get_weather');
    expect(['Oslo', 'Bergen']).toContain(
      (JSON.parse(call.function.arguments) as { city: string }).city,
    );
  });

  it('completes raw text, honouring a stop string', async () => {
    const done = await client().completions.create({
      model: 'tiny-endless',
      prompt: 'Once upon a time',
      max_tokens: 24,
      temperature: 0,
    });
    expect(done.object).toBe('text_completion');
    const text = done.choices[0]!.text;
    expect(done.usage!.completion_tokens).toBeGreaterThan(0);
    // A stop string taken from the greedy answer itself: the same request stops before it.
    const at = [...text].findIndex((_, i) => i >= 4 && text.slice(i, i + 2).trim().length === 2);
    expect(at).toBeGreaterThan(0);
    const stop = text.slice(at, at + 2);
    const stopped = await client().completions.create({
      model: 'tiny-endless',
      prompt: 'Once upon a time',
      max_tokens: 24,
      temperature: 0,
      stop: [stop],
    });
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    expect(stopped.choices[0]!.text).toBe(text.slice(0, text.indexOf(stop)));
  });

  it('embeds text, as floats and as the base64 the client asks for by default', async () => {
    const asFloats = await client().embeddings.create({
      model: 'tiny-chat',
      input: ['a trusted model', 'another text'],
      encoding_format: 'float',
    });
    expect(asFloats.data).toHaveLength(2);
    const v = asFloats.data[0]!.embedding;
    expect(v.length).toBeGreaterThan(0);
    expect(Math.hypot(...v)).toBeCloseTo(1, 3);
    // The openai client decodes base64 itself: the same vector comes back.
    const decoded = await client().embeddings.create({
      model: 'tiny-chat',
      input: 'a trusted model',
    });
    expect(decoded.data[0]!.embedding.length).toBe(v.length);
    decoded.data[0]!.embedding.forEach((x, i) => expect(x).toBeCloseTo(v[i]!, 5));
  });

  it('refuses a wrong key with 401, an unknown model with 404', async () => {
    await expect(client('sk-secai-wrong').models.list()).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    const missing = await client()
      .chat.completions.create({
        model: 'no-such-model',
        messages: [{ role: 'user', content: 'x' }],
      })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as APIError).code).toBe('MODEL_UNKNOWN');
  });

  it('records prompts and answers as digests only', async () => {
    const secret = 'my-password-is-hunter2-and-nobody-knows';
    await client().chat.completions.create({
      model: 'tiny-chat',
      messages: [{ role: 'user', content: secret }],
      max_tokens: 4,
    });
    let all = '';
    await waitFor(
      async () => {
        const events = await fx.allEvents();
        all = JSON.stringify(events);
        return events.filter((e) => e.type === 'inference.request.completed').length >= 1;
      },
      30_000,
      'inference.request.completed',
    );
    expect(all).not.toContain('hunter2');
    expect(all).toContain('"prompt":{"digest":"sha256:');
  });
});

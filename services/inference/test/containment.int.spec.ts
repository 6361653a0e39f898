import { open } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecorder, type RunningRecorder } from '@secai/incident-recorder';
import { sendCommand } from '@secai/streams';
import { waitFor } from '@secai/streams/testing';
import { SESSION_HEADER } from '../src/index.js';
import {
  startInferenceFixture,
  type InferenceFixture,
  type StoredModel,
  log,
} from './inferenceFixture.js';

// Issue 12 §1 and §3: limits answer 429 instead of hanging, a containment ends the answers in
// flight with MODEL_CONTAINED, a changed stored file is never loaded, sessions see nothing of
// each other, and identities reach only their own routes.

let fx: InferenceFixture;
let recorder: RunningRecorder;
const unexpected = (): never => {
  throw new Error('expected a refusal');
};
let base: string;
const asService = (service: string) =>
  new OpenAI({ apiKey: fx.tokenOf(service), baseURL: fx.baseURL, maxRetries: 0 });

async function api(path: string, service: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${service.startsWith('sk-') ? service : fx.tokenOf(service)}`,
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return {
    status: res.status,
    body: (await res.json().catch(() => null)) as Record<string, unknown>,
  };
}

/** A streamed answer far longer than the test: it is still running when the test acts. */
async function longStream(client: OpenAI, model: string) {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Go on forever.' }],
    max_tokens: 6000,
    // Greedy on a model that never picks an end token (writeTinyLlamaGguf output 'endless').
    temperature: 0,
    stream: true,
  });
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  expect(first.done).toBe(false);
  // Reads to the end; resolves with the error that ended it, if any.
  const rest = (async () => {
    try {
      for (;;) if ((await it.next()).done) return null;
    } catch (err) {
      return err;
    }
  })();
  // Wrapped: an async function returning a promise would wait for it.
  return { rest };
}

beforeAll(async () => {
  fx = await startInferenceFixture({
    max_sessions: 2,
    queue_length: 0,
    context_size: 8192,
    max_tokens: 8000,
  });
  base = fx.baseURL.replace(/\/v1$/, '');
  recorder = await startRecorder(await fx.app.client('incident-recorder'), {
    policyDir: join(fx.dir, 'recorder'),
    seal: { everyEvents: 1000, everyMs: 60_000 },
    log,
  });
}, 120_000);

afterAll(async () => {
  await recorder?.stop();
  await fx?.stop();
});

describe('limits and containment', () => {
  let model: StoredModel;
  beforeAll(async () => {
    model = await fx.storeModel('tiny-contained', 11, 8192, 'endless');
  });

  it('given every slot busy and no queue, a request gets 429 with Retry-After; a containment ends both streams with MODEL_CONTAINED', async () => {
    const ui = asService('ui');
    const first = await longStream(ui, model.name);
    const second = await longStream(ui, model.name);

    const refused = await ui.chat.completions
      .create({ model: model.name, messages: [{ role: 'user', content: 'me too' }], max_tokens: 2 })
      .then(unexpected, (e: unknown) => e as APIError);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused.code).toBe('QUEUE_FULL');
    expect(Number(refused.headers?.get('retry-after'))).toBeGreaterThan(0);

    const contained = await sendCommand((await fx.app.client('cli')).nc, {
      command: 'registry.quarantine_model',
      signer: fx.app.pki.signerFor('cli'),
      trust: fx.app.pki.trust,
      request: { model: model.hex, reason: 'operator contains it mid-answer' },
    });
    expect(contained.ok).toBe(true);

    for (const ended of [await first.rest, await second.rest]) {
      expect(ended).toBeInstanceOf(APIError);
      expect((ended as APIError).code).toBe('MODEL_CONTAINED');
    }
    const after = await ui.chat.completions
      .create({ model: model.name, messages: [{ role: 'user', content: 'again' }], max_tokens: 2 })
      .then(unexpected, (e: unknown) => e as APIError);
    expect(after.status).toBe(409);
    expect(after.code).toBe('MODEL_CONTAINED');
    const unloaded = (await fx.allEvents()).find(
      (e) => e.type === 'inference.model.unloaded' && e.subject === `inference-model/${model.hex}`,
    );
    expect(unloaded?.data).toMatchObject({ reason: 'contained', endedRequests: 2 });
    expect((await asService('ui').models.list()).data.map((m) => m.id)).not.toContain(model.name);
  });
});

describe('a stored file that changed is never loaded', () => {
  it('given a byte flipped in the store, the first request is refused, the registry records the failure and an incident is opened', async () => {
    const model = await fx.storeModel('tiny-flipped', 12);
    const file = await open(model.path, 'r+');
    try {
      const at = Math.floor(model.bytes.length / 2);
      await file.write(Buffer.from([model.bytes[at]! ^ 0xff]), 0, 1, at);
    } finally {
      await file.close();
    }
    const refused = await asService('agent')
      .chat.completions.create({
        model: model.name,
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 2,
      })
      .then(unexpected, (e: unknown) => e as APIError);
    expect(refused.status).toBe(409);
    expect(refused.code).toBe('MODEL_VERIFICATION_FAILED');
    await waitFor(
      async () =>
        (await fx.allEvents()).some(
          (e) => e.type === 'model.verification.failed' && e.subject === `model/${model.hex}`,
        ),
      30_000,
      'model.verification.failed from the registry',
    );
    // The registry's record is what the incident recorder acts on.
    await waitFor(
      async () =>
        (await fx.allEvents()).some(
          (e) =>
            e.type === 'incident.opened' &&
            (e.data as { subject: string }).subject === `model/${model.hex}`,
        ),
      30_000,
      'an incident about the changed model',
    );
    const refusal = (await fx.allEvents()).find((e) => e.type === 'inference.model.refused');
    expect(refusal?.data).toMatchObject({ model: model.digest, problem: 'mismatch' });
    expect(
      (await fx.allEvents()).some(
        (e) => e.type === 'inference.model.loaded' && e.subject === `inference-model/${model.hex}`,
      ),
    ).toBe(false);
  });
});

describe('sessions', () => {
  let model: StoredModel;
  beforeAll(async () => {
    model = await fx.storeModel('tiny-sessions', 13);
  });

  const greedy = (client: OpenAI, session: string, content: string) =>
    client.chat.completions.create(
      { model: model.name, messages: [{ role: 'user', content }], max_tokens: 16, temperature: 0 },
      { headers: { [SESSION_HEADER]: session } },
    );

  it('two sessions in parallel see nothing of each other', async () => {
    const ui = asService('ui');
    const agent = asService('agent');
    const a = await api('/api/v1/sessions', 'ui', { method: 'POST', body: { model: model.name } });
    const b = await api('/api/v1/sessions', 'agent', {
      method: 'POST',
      body: { model: model.name },
    });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    const idA = a.body.id as string;
    const idB = b.body.id as string;

    const alone = (await greedy(ui, idA, 'The secret word is tangerine.')).choices[0]!.message
      .content;
    // The same question again while the other session talks about something else at once: the
    // greedy answer is the same, so nothing of B reached A's sequence.
    const [again] = await Promise.all([
      greedy(ui, idA, 'The secret word is tangerine.'),
      greedy(agent, idB, 'Tell me the secret word you were told.'),
    ]);
    expect(again.choices[0]!.message.content).toBe(alone);

    // Another caller cannot use, or even see, A's session.
    const stolen = await greedy(agent, idA, 'x').then(unexpected, (e: unknown) => e as APIError);
    expect(stolen.status).toBe(404);
    expect(stolen.code).toBe('SESSION_UNKNOWN');
    expect((await api(`/api/v1/sessions/${idA}`, 'agent', { method: 'DELETE' })).status).toBe(404);
    expect((await api(`/api/v1/sessions/${idA}`, 'ui', { method: 'DELETE' })).status).toBe(204);
    const closed = (await fx.allEvents()).find(
      (e) => e.type === 'inference.session.closed' && e.subject === `inference/${idA}`,
    );
    expect(closed?.data).toMatchObject({ caller: 'service:ui', reason: 'client', requests: 2 });
  });
});

describe('idle sessions', () => {
  it('a sweep closes an idle session but never one whose answer is still running', async () => {
    const model = await fx.storeModel('tiny-idle', 15, 8192, 'endless');
    const ui = asService('ui');
    const open = async () =>
      (await api('/api/v1/sessions', 'ui', { method: 'POST', body: { model: model.name } })).body
        .id as string;
    const running = await open();
    const idle = await open();
    const stream = await ui.chat.completions.create(
      {
        model: model.name,
        messages: [{ role: 'user', content: 'Go on.' }],
        max_tokens: 6000,
        temperature: 0,
        stream: true,
      },
      { headers: { [SESSION_HEADER]: running } },
    );
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    // An idle limit of 0: every session is past it, only the busy one must survive.
    expect(await fx.inference.sessions.sweep(0)).toBe(1);
    expect(fx.inference.sessions.list().map((s) => s.id)).toEqual([running]);
    stream.controller.abort();
    expect((await api(`/api/v1/sessions/${idle}`, 'ui', { method: 'DELETE' })).status).toBe(404);
    expect((await api(`/api/v1/sessions/${running}`, 'ui', { method: 'DELETE' })).status).toBe(204);
  });
});

describe('who may call what', () => {
  it('an API key cannot make keys; the GPU watch cannot chat; the agent cannot read sentinels; a revoked key stops working', async () => {
    const made = await api('/api/v1/keys', 'cli', {
      method: 'POST',
      body: { name: 'phone', createdBy: 'test operator' },
    });
    expect(made.status).toBe(201);
    const key = made.body.key as string;
    expect(
      (await api('/api/v1/keys', key, { method: 'POST', body: { name: 'x', createdBy: 'me' } }))
        .status,
    ).toBe(403);
    expect(
      (
        await api('/api/v1/keys', 'cli', {
          method: 'POST',
          body: { name: 'phone', createdBy: 'again' },
        })
      ).body.code,
    ).toBe('KEY_EXISTS');
    const listed = await api('/api/v1/keys', 'cli');
    expect(JSON.stringify(listed.body)).not.toContain(key);

    const watch = await asService('gpu-integrity-watch')
      .models.list()
      .then(unexpected, (e: unknown) => e as APIError);
    expect(watch.status).toBe(403);
    const sentinel = await api('/api/v1/sentinel', 'agent', {
      method: 'POST',
      body: { model: `sha256:${'0'.repeat(64)}`, prompt: 'x', maxTokens: 1 },
    });
    expect(sentinel.status).toBe(403);

    expect((await api('/v1/models', key)).status).toBe(200);
    const revoked = await api('/api/v1/keys/phone/revoke', 'cli', {
      method: 'POST',
      body: { revokedBy: 'test operator', reason: 'lost' },
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const after = await api('/v1/models', key);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('API_KEY_INVALID');
  });
});

describe('sensitive mode', () => {
  it('disposes a session’s context when it closes, and says so in the event', async () => {
    await fx.setInferencePolicy({
      max_sessions: 2,
      queue_length: 0,
      context_size: 8192,
      max_tokens: 8000,
      session_mode: 'sensitive',
    });
    const model = await fx.storeModel('tiny-sensitive', 14);
    const opened = await api('/api/v1/sessions', 'ui', {
      method: 'POST',
      body: { model: model.name },
    });
    expect(opened.body.mode).toBe('sensitive');
    const id = opened.body.id as string;
    await asService('ui').chat.completions.create(
      { model: model.name, messages: [{ role: 'user', content: 'private' }], max_tokens: 4 },
      { headers: { [SESSION_HEADER]: id } },
    );
    expect((await api(`/api/v1/sessions/${id}`, 'ui', { method: 'DELETE' })).status).toBe(204);
    const closed = (await fx.allEvents()).find(
      (e) => e.type === 'inference.session.closed' && e.subject === `inference/${id}`,
    );
    expect(closed?.data).toMatchObject({ reason: 'client', contextDisposed: true, requests: 1 });
  });
});

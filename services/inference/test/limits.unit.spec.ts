import { describe, expect, it } from 'vitest';
import { Admission } from '../src/admission.js';
import { TextCoalescer } from '../src/openai.js';
import { InferenceError } from '../src/errors.js';
import { settingsOf, DEFAULT_SETTINGS } from '../src/settings.js';
import type { LoadedPolicy } from '@secai/streams';
import { canonicalJson, sha256Hex } from '@secai/contracts';

const never = new AbortController().signal;

describe('admission: slots and a bounded queue, never a hang', () => {
  it('given free slots, when requests arrive, then each gets one at once', async () => {
    const a = new Admission({ slots: 2, queueLength: 0 });
    const r1 = await a.acquire(never, 1000);
    const r2 = await a.acquire(never, 1000);
    expect(a.active).toBe(2);
    r1();
    r2();
    expect(a.active).toBe(0);
  });

  it('given every slot busy and a full queue, then the next is refused at once with 429 and Retry-After', async () => {
    const a = new Admission({ slots: 1, queueLength: 1 });
    const held = await a.acquire(never, 10_000);
    const waiting = a.acquire(never, 10_000);
    const refused = (await a.acquire(never, 10_000).catch((e: unknown) => e)) as InferenceError;
    expect(refused).toBeInstanceOf(InferenceError);
    expect(refused.code).toBe('QUEUE_FULL');
    expect(refused.status).toBe(429);
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    held();
    const next = await waiting;
    expect(a.active).toBe(1);
    next();
  });

  it('given a waiter whose deadline passes, then it gets 503 BUSY and leaves the queue', async () => {
    const a = new Admission({ slots: 1, queueLength: 4 });
    const held = await a.acquire(never, 10_000);
    const late = (await a.acquire(never, 20).catch((e: unknown) => e)) as InferenceError;
    expect(late.code).toBe('BUSY');
    expect(late.status).toBe(503);
    expect(a.queued).toBe(0);
    held();
  });

  it('given a waiter whose client goes away, then it leaves the queue', async () => {
    const a = new Admission({ slots: 1, queueLength: 4 });
    const held = await a.acquire(never, 10_000);
    const client = new AbortController();
    const waiting = a.acquire(client.signal, 10_000).then(
      () => null,
      (e: unknown) => e as InferenceError,
    );
    client.abort();
    expect((await waiting)?.code).toBe('BUSY');
    expect(a.queued).toBe(0);
    held();
  });

  it('serves waiters first come, first served, and a double release frees one slot only', async () => {
    const a = new Admission({ slots: 1, queueLength: 4 });
    const held = await a.acquire(never, 10_000);
    const order: number[] = [];
    const w1 = a.acquire(never, 10_000).then((r) => (order.push(1), r));
    const w2 = a.acquire(never, 10_000).then((r) => (order.push(2), r));
    held();
    held();
    const r1 = await w1;
    expect(a.active).toBe(1);
    r1();
    (await w2)();
    expect(order).toEqual([1, 2]);
  });
});

function loaded(policy: Record<string, unknown>): LoadedPolicy {
  const documents = canonicalJson({ agent: {}, policy });
  return {
    digest: `sha256:${sha256Hex(documents)}`,
    version: 1,
    trigger: 'startup',
    previousDigest: null,
    files: [{ path: '/p/policy.yaml', digest: `sha256:${'0'.repeat(64)}`, sizeBytes: 1 }],
    documents,
  };
}

describe('settings from the active policy (fail closed)', () => {
  it('given no active policy, then nothing is served', () => {
    expect(settingsOf(null)).toEqual({ ok: false, problem: 'no policy is active' });
  });

  it('given a policy without an inference section, then the documented defaults', () => {
    const read = settingsOf(loaded({ version: 1 }));
    expect(read.ok && read.settings).toMatchObject(DEFAULT_SETTINGS);
  });

  it('given limits in policy, then they are used, in milliseconds where they are times', () => {
    const read = settingsOf(
      loaded({
        inference: { gpu: 'cuda', max_sessions: 1, queue_length: 0, request_timeout_seconds: 3 },
      }),
    );
    expect(read.ok && read.settings).toMatchObject({
      gpu: 'cuda',
      maxSessions: 1,
      queueLength: 0,
      requestTimeoutMs: 3000,
    });
  });

  it.each([
    [{ gpu: 'rocm' }, 'gpu'],
    [{ max_sessions: 0 }, 'max_sessions'],
    [{ threads: 'many' }, 'threads'],
  ])('given inference %j, then it is refused naming %s', (section, key) => {
    const read = settingsOf(loaded({ inference: section }));
    expect(read.ok).toBe(false);
    expect(!read.ok && read.problem).toContain(key);
  });
});

describe('streamed text coalescing', () => {
  it('sends the first piece at once, then one chunk per window, and everything on flush', () => {
    let now = 0;
    const sent: string[] = [];
    const c = new TextCoalescer(
      (t) => sent.push(t),
      8,
      () => now,
    );
    c.push('a');
    expect(sent).toEqual(['a']);
    now = 2;
    c.push('b');
    now = 5;
    c.push('c');
    expect(sent).toEqual(['a']);
    now = 9;
    c.push('d');
    expect(sent).toEqual(['a', 'bcd']);
    now = 10;
    c.push('e');
    c.flush();
    expect(sent).toEqual(['a', 'bcd', 'e']);
    c.flush();
    expect(sent).toHaveLength(3);
  });

  it('sends a piece left pending when its window ends, without another push', async () => {
    const sent: string[] = [];
    const c = new TextCoalescer((t) => sent.push(t), 5);
    c.push('x');
    c.push('y');
    expect(sent).toEqual(['x']);
    await new Promise((r) => setTimeout(r, 30));
    expect(sent).toEqual(['x', 'y']);
  });
});

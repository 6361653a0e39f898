import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DraftEvent } from '@secai/contracts';
import { createTestPki } from '@secai/contracts/testing';
import { assertProblem, bearer, busIn } from '@secai/streams/http/testing';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  buildHttp,
  normalizeRequest,
  type DecisionRecorder,
} from '../src/index.js';

// Issue 10 §5 and §4 at the policy engine's gateway: a caller holding a gate's real token sends
// a body nested 30,000 deep (it overflowed the stack in normalizeRequest: a 500, and the deny
// was not recorded), asks routes and methods that do not exist, and decides while the bus is
// down. A refused request is still a recorded deny whenever the log is reachable.

const pki = await createTestPki();
const recorded: DraftEvent<'policy.decided'>[] = [];
const recorder: DecisionRecorder = {
  record(event) {
    recorded.push(event);
    const id = `evt-${recorded.length}`;
    return Promise.resolve({ eventId: id, decisionId: id });
  },
};
const bus = busIn('connected');
const log = pino({ level: 'silent' });
let dir: string;
let engine: PolicyEngine;
let app: ReturnType<typeof buildHttp>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-policy-attack-'));
  await cp(DEFAULT_POLICY_DIR, dir, { recursive: true });
  engine = new PolicyEngine();
  const host = new PolicyHost(engine, null, dir, log);
  expect((await host.reload('startup')).ok).toBe(true);
  app = buildHttp({ engine, host, recorder, trust: pki.trust, bus, log });
});
afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

const as = (service: string) => ({ authorization: bearer(pki, service, 'policy-engine') });
const post = (url: string, payload: string, service = 'tool-firewall') =>
  app.inject({
    method: 'POST',
    url,
    headers: { ...as(service), 'content-type': 'application/json' },
    payload,
  });
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepRequest = (depth: number) =>
  `{"domain":"tool_access","subject":"x","params":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;

/** A value nested `depth` levels, built without recursion. */
function nestedValue(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

describe('a body nested thousands deep', () => {
  it.each([
    ['arrays', deepArray(30_000)],
    ['objects inside a request', deepRequest(6_000)],
  ])('to /decide (%s): 400 REQUEST_TOO_DEEP carrying a recorded deny', async (_name, body) => {
    const before = recorded.length;
    const res = await post('/api/v1/decide', body);
    assertProblem(res, 400, 'REQUEST_TOO_DEEP');
    expect(res.json()).toMatchObject({
      decision: { decision: 'deny', evidence: { ruleId: 'request.invalid' } },
    });
    expect(recorded.length).toBe(before + 1);
    const event = recorded.at(-1)!;
    expect(event.data).toMatchObject({
      decision: 'deny',
      domain: 'invalid',
      caller: 'tool-firewall',
    });
    // The evidence names the refusal and digests the body that was refused.
    expect(event.data.input).toContain('deeper than');
    expect(event.data.subject.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
  it('to /decide/batch: 400 REQUEST_TOO_DEEP', async () => {
    const res = await post('/api/v1/decide/batch', `{"requests":[${deepArray(30_000)}]}`, 'agent');
    assertProblem(res, 400, 'REQUEST_TOO_DEEP');
  });
  it('in normalizeRequest from any other path (NATS, the consumer): an invalid input, no overflow', () => {
    for (const raw of [
      nestedValue(30_000),
      { domain: 'tool_access', subject: 'x', params: nestedValue(30_000) },
      { domain: 'model_promotion', subject: 'm', promotion: nestedValue(30_000) },
    ]) {
      const normalized = normalizeRequest(raw);
      expect(normalized.input.domain).toBe('invalid');
      expect(normalized.subject.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const outcome = engine.decide(raw, 'agent');
      expect(outcome.response.decision).toBe('deny');
    }
  });
});

describe('routes and methods that do not exist', () => {
  it('answers an unknown route with 404 and a wrong method with 405 and Allow', async () => {
    assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/decisions', headers: as('agent') }),
      404,
      'NOT_FOUND',
    );
    const wrong = await app.inject({ method: 'GET', url: '/api/v1/decide', headers: as('agent') });
    assertProblem(wrong, 405, 'METHOD_NOT_ALLOWED');
    expect(wrong.headers.allow).toBe('POST');
    const options = await app.inject({ method: 'OPTIONS', url: '/health', headers: as('agent') });
    assertProblem(options, 405, 'METHOD_NOT_ALLOWED');
    expect(options.headers.allow).toBe('GET, HEAD');
  });
});

describe('the bus', () => {
  it('reports it on /health: ok while connected, 503 degraded while not', async () => {
    const up = await app.inject({ method: 'GET', url: '/health' });
    expect(up.statusCode).toBe(200);
    expect(up.json()).toMatchObject({ status: 'ok', bus: { state: 'connected', reconnects: 0 } });
    bus.set('reconnecting');
    try {
      const down = await app.inject({ method: 'GET', url: '/health' });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({
        status: 'degraded',
        policyDigest: engine.snapshot!.digest,
        bus: { state: 'reconnecting' },
      });
    } finally {
      bus.set('connected');
    }
  });
  it('answers decide, batch and reload with 503 BUS_UNAVAILABLE while it is down: a deny', async () => {
    bus.set('closed');
    const before = recorded.length;
    try {
      const one = await post(
        '/api/v1/decide',
        JSON.stringify({ domain: 'agent_risk', subject: 'file_read' }),
      );
      assertProblem(one, 503, 'BUS_UNAVAILABLE');
      expect(one.headers['retry-after']).toBeDefined();
      const batch = await post(
        '/api/v1/decide/batch',
        JSON.stringify({ requests: [{ domain: 'agent_risk', subject: 'file_read' }] }),
        'agent',
      );
      assertProblem(batch, 503, 'BUS_UNAVAILABLE');
      assertProblem(
        await app.inject({ method: 'POST', url: '/api/v1/reload', headers: as('cli') }),
        503,
        'BUS_UNAVAILABLE',
      );
      // Reading the active policy and the counters needs no bus.
      const policy = await app.inject({ method: 'GET', url: '/api/v1/policy', headers: as('cli') });
      expect(policy.statusCode).toBe(200);
      const stats = await app.inject({ method: 'GET', url: '/api/v1/stats', headers: as('cli') });
      expect(stats.statusCode).toBe(200);
      expect(recorded.length).toBe(before);
    } finally {
      bus.set('connected');
    }
  });
});

import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { EventStore, TrustCache, watchBus, type BusWatch } from '@secai/streams';
import { assertProblem, bearer } from '@secai/streams/http/testing';
import { startTestAppliance, waitFor, type TestAppliance } from '@secai/streams/testing';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  buildHttp,
  streamRecorder,
} from '../src/index.js';

// Issue 10 §4 at the policy engine: with the nats-server killed, /health said ok and each decide
// waited about 5 s for a 503. Here the decision log publishes with a ten-minute timeout, so a
// decide that waited for the bus would hang past vitest's own timeout: the 503 must come without
// waiting (nothing is timed), and it is a deny.

const NEVER_MS = 10 * 60 * 1000;
const log = pino({ level: 'silent' });
let t: TestAppliance;
let dir: string;
let bus: BusWatch;
let http: ReturnType<typeof buildHttp>;

beforeAll(async () => {
  t = await startTestAppliance();
  const { nc, jsm } = await t.client('policy-engine');
  const store = new EventStore(jetstream(nc, { timeout: NEVER_MS }), jsm, {
    signer: t.pki.signerFor('policy-engine'),
    trust: TrustCache.fixed(t.pki.trust),
  });
  dir = await mkdtemp(join(tmpdir(), 'secai-policy-bus-'));
  await cp(DEFAULT_POLICY_DIR, dir, { recursive: true });
  const engine = new PolicyEngine();
  const host = new PolicyHost(engine, null, dir, log);
  expect((await host.reload('startup')).ok).toBe(true);
  bus = watchBus(nc);
  http = buildHttp({ engine, host, recorder: streamRecorder(store), trust: t.pki.trust, bus, log });
});
afterAll(async () => {
  bus?.stop();
  await http?.close();
  await t?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const decide = () =>
  http.inject({
    method: 'POST',
    url: '/api/v1/decide',
    headers: {
      authorization: bearer(t.pki, 'tool-firewall', 'policy-engine'),
      'content-type': 'application/json',
    },
    payload: JSON.stringify({ domain: 'agent_risk', subject: 'file_read' }),
  });
const health = () => http.inject({ method: 'GET', url: '/health' });

describe('the policy engine with its bus killed', () => {
  it('decides and records while the bus is up; /health says ok with the bus', async () => {
    const res = await decide();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ decision: 'allow' });
    expect((await health()).json()).toMatchObject({ status: 'ok', bus: { state: 'connected' } });
  });

  it('answers decide with 503 BUS_UNAVAILABLE without waiting, and /health 503 degraded', async () => {
    await t.nats.server.kill();
    await waitFor(() => !bus.connected(), 30_000, 'the connection to notice the dead server');
    const refused = await decide();
    assertProblem(refused, 503, 'BUS_UNAVAILABLE');
    expect(refused.headers['retry-after']).toBeDefined();
    const h = await health();
    expect(h.statusCode).toBe(503);
    expect(h.json()).toMatchObject({ status: 'degraded', bus: { state: 'reconnecting' } });
  });

  it('decides and records again once the server is back', async () => {
    await t.nats.restart();
    await waitFor(() => bus.connected(), 30_000, 'the reconnect');
    const res = await decide();
    expect(res.statusCode).toBe(200);
    expect(res.json<{ eventId: string }>().eventId).toBeTruthy();
    expect((await health()).json()).toMatchObject({
      status: 'ok',
      bus: { state: 'connected', reconnects: 1 },
    });
  });
});

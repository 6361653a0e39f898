import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchBus, type BusWatch } from '../src/busWatch.js';
import { busHealthOf } from '../src/http/health.js';
import { createGateway } from '../src/http/index.js';
import { assertProblem, bearer } from '../src/http/testing.js';
import { startTestAppliance, waitFor, type TestAppliance } from '../src/testing/index.js';

// Issue 10 §4: with the nats-server killed, /health said ok and each request that needed the bus
// waited for its NATS timeout. Here the route that needs the bus publishes with a ten-minute
// JetStream timeout: if the gateway let the request through while the bus is down, the request
// would hang past vitest's own timeout. Nothing is measured: the 503 must simply come.

const NEVER_MS = 10 * 60 * 1000;
let t: TestAppliance;
let nc: NatsConnection;
let bus: BusWatch;
let app: FastifyInstance;

beforeAll(async () => {
  t = await startTestAppliance();
  ({ nc } = await t.client('registry'));
  bus = watchBus(nc);
  const js = jetstream(nc, { timeout: NEVER_MS });
  app = createGateway({
    service: 'registry',
    trust: t.pki.trust,
    scopes: { write: ['cli'], read: ['cli'] },
    bus,
    routes: (api) => {
      api.get('/health', { config: { public: true } }, (_request, reply) => {
        const { httpStatus, ...body } = busHealthOf(bus);
        return reply.code(httpStatus).send(body);
      });
      api.post('/api/v1/record', { config: { scope: 'write' } }, async () => {
        const ack = await js.publish('secai.evt.service.registry', 'x');
        return { seq: ack.seq };
      });
      api.get('/api/v1/cached', { config: { scope: 'read', busOptional: true } }, () => ({
        cached: true,
      }));
    },
  });
});
afterAll(async () => {
  bus?.stop();
  await app?.close();
  await t?.cleanup();
});

const cli = () => ({ authorization: bearer(t.pki, 'cli', 'registry') });
const record = () => app.inject({ method: 'POST', url: '/api/v1/record', headers: cli() });

describe('a gateway whose bus is killed', () => {
  it('reports the connected bus on /health and records while it is up', async () => {
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok', bus: { state: 'connected' } });
    expect((await record()).statusCode).toBe(200);
  });

  it('answers 503 BUS_UNAVAILABLE with Retry-After at once, and /health says degraded', async () => {
    await t.nats.server.kill();
    await waitFor(() => !bus.connected(), 30_000, 'the connection to notice the dead server');

    const refused = await record();
    assertProblem(refused, 503, 'BUS_UNAVAILABLE');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({ status: 'degraded', bus: { state: 'reconnecting' } });

    // A route that reads memory still answers; the token still comes first.
    const cached = await app.inject({ method: 'GET', url: '/api/v1/cached', headers: cli() });
    expect(cached.json()).toEqual({ cached: true });
    assertProblem(
      await app.inject({ method: 'POST', url: '/api/v1/record' }),
      401,
      'TOKEN_MISSING',
    );
  });

  it('serves again once the server is back, and counts the reconnect', async () => {
    await t.nats.restart();
    await waitFor(() => bus.connected(), 30_000, 'the reconnect');
    expect(bus.health().reconnects).toBe(1);
    expect((await record()).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({
      status: 'ok',
      bus: { state: 'connected', reconnects: 1 },
    });
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { createTestPki } from '@secai/contracts/testing';
import type { ManifestEntry } from '@secai/projections';
import {
  assertProblem,
  bearer,
  busIn,
  openApiGapsOf,
  refusedCredentials,
} from '@secai/streams/http/testing';
import { buildHttp, viewOf, type HttpDeps, type VerificationOutcome } from '../src/index.js';
import type { StoreLayout } from '../src/store.js';

// The registry gateway in process, with an in-memory manifest and a fake re-hash: tokens and
// scopes, validation, problem documents, the OpenAPI document, and bodies serialised in full.
const pki = await createTestPki();
const HEX = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const entry: ManifestEntry = {
  digest: `sha256:${HEX}`,
  name: 'tiny.gguf',
  format: 'gguf',
  sizeBytes: 1234,
  storePath: `${HEX}/tiny.gguf`,
  fromArtifact: 'c'.repeat(64),
  storedAt: '2026-01-01T00:00:00.000Z',
  status: 'available',
  lastVerifiedAt: null,
  note: null,
};
const layout = {
  storeRoot: '/var/lib/secai/models',
  containmentRoot: '/var/lib/secai/contained',
} as StoreLayout;
let nextOutcome: VerificationOutcome;
const bus = busIn('connected');
const deps: HttpDeps = {
  registry: { verify: () => Promise.resolve(nextOutcome) },
  manifest: () => ({ document: { models: { [HEX]: entry } }, lastSeq: 7 }),
  layout,
  trust: pki.trust,
  bus,
};
const app = buildHttp(deps);
afterAll(() => app.close());

const as = (service: string) => ({ authorization: bearer(pki, service, 'registry') });
const get = (url: string, service = 'cli') =>
  app.inject({ method: 'GET', url, headers: as(service) });

const cases = await refusedCredentials(pki, {
  audience: 'registry',
  allowed: 'cli',
  outsider: 'agent',
});

describe('credentials', () => {
  it.each(cases)('refuses $name with $status $code', async ({ headers, status, code }) => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/models', headers });
    assertProblem(res, status, code);
  });
  it('refuses a reader without the verify scope (403)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/models/${HEX}/verify`,
      headers: as('integrity-monitor'),
    });
    assertProblem(res, 403, 'SCOPE_DENIED');
  });
  it('serves /health without a token', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.json()).toEqual({
      status: 'ok',
      models: 1,
      manifestSeq: 7,
      bus: { state: 'connected', since: '2030-01-01T00:00:00.000Z', reconnects: 0 },
    });
  });
});

describe('the OpenAPI document', () => {
  it('describes every route, to any authenticated service', async () => {
    const { status, gaps } = await openApiGapsOf(app, bearer(pki, 'agent', 'registry'));
    expect(status).toBe(200);
    expect(gaps).toEqual([]);
  });
  it('is not served without a token', async () => {
    assertProblem(await app.inject({ method: 'GET', url: '/api/v1/openapi.json' }), 401);
  });
});

describe('validation and not found', () => {
  it.each([
    ['an unknown query field', '/api/v1/models?sneaky=1'],
    ['a status outside the list', '/api/v1/models?status=deleted'],
    ['an oversized digest', `/api/v1/models/${'a'.repeat(81)}`],
  ])('answers %s with 400 REQUEST_INVALID', async (_name, url) => {
    const problem = assertProblem(await get(url), 400, 'REQUEST_INVALID');
    expect(problem.detail).toMatch(/^(querystring|params)/);
  });
  it('answers a malformed digest with 400 DIGEST_INVALID', async () => {
    assertProblem(await get('/api/v1/models/not-a-digest'), 400, 'DIGEST_INVALID');
  });
  it('answers an unknown model with 404 MODEL_UNKNOWN', async () => {
    assertProblem(await get(`/api/v1/models/sha256:${OTHER}`), 404, 'MODEL_UNKNOWN');
  });
  it('answers an unknown route with 404 NOT_FOUND, after the token check', async () => {
    assertProblem(await get('/api/v1/nothing'), 404, 'NOT_FOUND');
    assertProblem(await app.inject({ method: 'GET', url: '/api/v1/nothing' }), 401);
  });
  it('refuses an oversized body with 413', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/models/${HEX}/verify`,
      headers: { ...as('cli'), 'content-type': 'application/json' },
      payload: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }),
    });
    assertProblem(res, 413, 'REQUEST_TOO_LARGE');
  });
});

describe('bodies', () => {
  it('serialises a model view in full', async () => {
    expect((await get(`/api/v1/models/sha256:${HEX}`)).json()).toEqual(viewOf(entry, layout));
    expect((await get('/api/v1/models?status=available')).json()).toEqual({
      models: [viewOf(entry, layout)],
      manifestSeq: 7,
    });
  });
  it('answers a failed re-hash with 409 and the recorded failure', async () => {
    nextOutcome = {
      outcome: 'failed',
      decision: {} as VerificationOutcome['decision'],
      eventId: 'evt-1',
      event: {
        type: 'model.verification.failed',
        aggregateId: HEX,
        causationId: null,
        data: {
          trigger: 'request',
          problem: 'mismatch',
          expected: `sha256:${HEX}`,
          actual: `sha256:${OTHER}`,
          expectedSizeBytes: 1234,
          actualSizeBytes: 1234,
        },
      },
    };
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/models/${HEX}/verify`,
      headers: as('cli'),
    });
    const problem = assertProblem(res, 409, 'VERIFICATION_FAILED');
    expect(problem).toMatchObject({
      verification: { status: 'failed', problem: 'mismatch', safeToUse: false, eventId: 'evt-1' },
    });
  });
});

describe('the bus (issue 10 §4)', () => {
  it('while it is down: /health 503 degraded, verify 503 BUS_UNAVAILABLE at once, reads served', async () => {
    bus.set('reconnecting');
    try {
      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'degraded', bus: { state: 'reconnecting' } });
      const verify = await app.inject({
        method: 'POST',
        url: `/api/v1/models/${HEX}/verify`,
        headers: as('cli'),
      });
      assertProblem(verify, 503, 'BUS_UNAVAILABLE');
      expect(verify.headers['retry-after']).toBeDefined();
      for (const url of [
        '/api/v1/models',
        `/api/v1/models/${HEX}`,
        `/api/v1/models/${HEX}/integrity`,
        '/api/v1/integrity/manifest',
      ])
        expect((await get(url)).statusCode).toBe(200);
    } finally {
      bus.set('connected');
    }
  });
});

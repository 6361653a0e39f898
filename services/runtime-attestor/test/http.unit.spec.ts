import { afterAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '@secai/contracts';
import { createTestPki } from '@secai/contracts/testing';
import {
  assertProblem,
  bearer,
  busIn,
  openApiGapsOf,
  refusedCredentials,
} from '@secai/streams/http/testing';
import {
  AttestorError,
  buildHttp,
  type EnrolmentProfile,
  type HttpDeps,
  type RunResult,
  type StoredResult,
} from '../src/index.js';

// The attestor's gateway in process, with an in-memory attestor: tokens and scopes, validation,
// problem documents, the OpenAPI document, and bodies serialised in full.
const pki = await createTestPki();
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const NONCE = 'e'.repeat(64);
const data: StoredResult['data'] = {
  host: 'appliance',
  mode: 'evaluation',
  nonce: NONCE,
  requestedBy: 'cli',
  quoteDigest: digest('a'),
  pcrDigest: digest('b'),
  deploymentDigest: null,
  bundleDigest: digest('c'),
  checks: {
    secureBoot: false,
    tpmAvailable: true,
    quoteVerified: true,
    measurementsVerified: true,
    deploymentVerified: false,
    releaseBaselineVerified: false,
  },
  evidenceVerified: false,
  policySatisfied: true,
  reasons: ['secure_boot_off: Secure Boot is off'],
};
const stored: StoredResult = {
  eventId: 'evt-7',
  seq: 7,
  type: 'attestation.degraded',
  time: new Date().toISOString(),
  data,
  event: { id: 'evt-7', type: 'attestation.degraded', data } as unknown as CloudEvent,
  envelope: { payloadType: 'x', payload: 'eA==', signatures: [] },
};
const profile: EnrolmentProfile = {
  version: 1,
  tcti: 'swtpm:port=2321',
  akHandle: '0x81010002',
  akPublicPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
  enrolment: {
    host: 'appliance',
    mode: 'evaluation',
    akDigest: digest('d'),
    pcrSelection: 'sha256:0,7',
    pcrBaseline: [],
    quotedPcrDigest: digest('f'),
    deploymentDigest: null,
  },
  enrolledAt: '2026-01-01T00:00:00.000Z',
  eventId: 'evt-1',
};
let busy = false;
const attestor: HttpDeps['attestor'] = {
  latest: stored,
  mode: 'evaluation',
  policy: {
    require: 'evaluation',
    pcrs: [0, 7],
    intervalSeconds: 300,
    requireSecureBoot: false,
    digest: digest('9'),
  },
  profile,
  enrolmentProblem: null,
  readBundle: () => Promise.resolve({ quote: 'q', pcrs: { 0: 'x' } }),
  attest: (): Promise<RunResult> => {
    if (busy) return Promise.reject(new AttestorError('ATTESTOR_BUSY', 'too many runs waiting'));
    return Promise.resolve({ outcome: 'degraded', eventId: 'evt-7', seq: 7, data, stored });
  },
};
const bus = busIn('connected');
const app = buildHttp({ attestor, trust: pki.trust, bus, maxAgeMs: null });
afterAll(() => app.close());

const as = (service: string) => ({ authorization: bearer(pki, service, 'runtime-attestor') });
const get = (url: string, service = 'cli') =>
  app.inject({ method: 'GET', url, headers: as(service) });
const attest = (payload?: string, service = 'cli') =>
  app.inject({
    method: 'POST',
    url: '/api/v1/attest',
    headers: {
      ...as(service),
      ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(payload !== undefined ? { payload } : {}),
  });
const cases = await refusedCredentials(pki, {
  audience: 'runtime-attestor',
  allowed: 'appliance',
  outsider: 'inference',
});

describe('credentials', () => {
  it.each(cases)('refuses $name with $status $code', async ({ headers, status, code }) => {
    assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/verify', headers }),
      status,
      code,
    );
  });
  it('refuses an attestation asked by a service outside the scope (403)', async () => {
    assertProblem(await attest(undefined, 'airlock'), 403, 'SCOPE_DENIED');
  });
  it('serves /health without a token', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.json()).toEqual({
      status: 'ok',
      mode: 'evaluation',
      outcome: 'degraded',
      lastEventId: 'evt-7',
      bus: { state: 'connected', since: '2030-01-01T00:00:00.000Z', reconnects: 0 },
    });
  });
});

describe('the OpenAPI document', () => {
  it('describes every route, to any authenticated service', async () => {
    const { status, gaps } = await openApiGapsOf(app, bearer(pki, 'agent', 'runtime-attestor'));
    expect(status).toBe(200);
    expect(gaps).toEqual([]);
  });
});

describe('validation and not found', () => {
  it.each([
    ['an unknown field', '{"reason":"boot","sneaky":true}'],
    ['a nonce that is not 64 hex', '{"nonce":"abc"}'],
    ['an empty reason', '{"reason":""}'],
    ['an array', '[]'],
  ])('answers %s with 400 REQUEST_INVALID', async (_name, payload) => {
    const problem = assertProblem(await attest(payload), 400, 'REQUEST_INVALID');
    expect(problem.detail).toMatch(/^body/);
  });
  it('answers malformed JSON with 400 REQUEST_MALFORMED', async () => {
    assertProblem(await attest('{"reason":'), 400, 'REQUEST_MALFORMED');
  });
  it('answers an unknown route with 404 NOT_FOUND', async () => {
    assertProblem(await get('/api/v1/quote'), 404, 'NOT_FOUND');
  });
  it('refuses an oversized body with 413', async () => {
    assertProblem(
      await attest(JSON.stringify({ reason: 'x'.repeat(70 * 1024) })),
      413,
      'REQUEST_TOO_LARGE',
    );
  });
  it('answers 503 with the attestor’s code when it is busy', async () => {
    busy = true;
    const res = await attest('{}');
    busy = false;
    assertProblem(res, 503, 'ATTESTOR_BUSY');
  });
});

describe('bodies', () => {
  it('serialises the gate, the state and the enrolment in full', async () => {
    expect((await get('/api/v1/verify', 'appliance')).json()).toEqual({
      satisfied: true,
      mode: 'evaluation',
      require: 'evaluation',
      lastEventId: 'evt-7',
      outcome: 'degraded',
      attestedAt: stored.time,
      reasons: data.reasons,
    });
    expect((await get('/api/v1/state')).json()).toEqual({
      eventId: 'evt-7',
      seq: 7,
      type: 'attestation.degraded',
      event: stored.event,
      envelope: stored.envelope,
      bundle: { quote: 'q', pcrs: { 0: 'x' } },
    });
    expect((await get('/api/v1/enrolment', 'ui')).json()).toEqual({
      ...profile.enrolment,
      akHandle: profile.akHandle,
      akPublicPem: profile.akPublicPem,
      tcti: profile.tcti,
      enrolledAt: profile.enrolledAt,
      eventId: 'evt-1',
    });
  });
  it.each([
    ['no body', undefined],
    ['null', 'null'],
    ['a nonce', JSON.stringify({ nonce: NONCE, reason: 'boot' })],
  ])('attests with %s', async (_name, payload) => {
    const res = await attest(payload);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      outcome: 'degraded',
      eventId: 'evt-7',
      seq: 7,
      mode: 'evaluation',
      nonce: NONCE,
      policySatisfied: true,
      reasons: data.reasons,
      event: stored.event,
    });
  });
});

describe('the bus (issue 10 §4)', () => {
  it('while it is down: /health 503 degraded, attest 503 BUS_UNAVAILABLE at once, the gate still read', async () => {
    bus.set('reconnecting');
    try {
      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'degraded', bus: { state: 'reconnecting' } });
      const refused = await attest();
      assertProblem(refused, 503, 'BUS_UNAVAILABLE');
      expect(refused.headers['retry-after']).toBeDefined();
      // The boot gate, the latest state and the enrolment are read from memory and disk.
      for (const url of ['/api/v1/verify', '/api/v1/state', '/api/v1/enrolment'])
        expect((await get(url)).statusCode).toBe(200);
    } finally {
      bus.set('connected');
    }
  });
});

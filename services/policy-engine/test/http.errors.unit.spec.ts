import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createTestPki } from '@secai/contracts/testing';
import {
  assertProblem,
  bearer,
  openApiGapsOf,
  refusedCredentials,
  busIn,
} from '@secai/streams/http/testing';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  buildHttp,
  type DecisionRecorder,
} from '../src/index.js';

// The gateway's shared error paths and the OpenAPI document (http.unit.spec.ts covers decide's
// own mapping): every attacker credential, problem documents, and bodies serialised in full.
const pki = await createTestPki();
const recorder: DecisionRecorder = {
  record: () => Promise.resolve({ eventId: 'evt-1', decisionId: 'evt-1' }),
};
const log = pino({ level: 'silent' });
let dir: string;
let engine: PolicyEngine;
let app: ReturnType<typeof buildHttp>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-policy-http-'));
  await cp(DEFAULT_POLICY_DIR, dir, { recursive: true });
  engine = new PolicyEngine();
  const host = new PolicyHost(engine, null, dir, log);
  expect((await host.reload('startup')).ok).toBe(true);
  app = buildHttp({ engine, host, recorder, trust: pki.trust, bus: busIn('connected'), log });
});
afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

const as = (service: string) => ({ authorization: bearer(pki, service, 'policy-engine') });
const get = (url: string, service = 'cli') =>
  app.inject({ method: 'GET', url, headers: as(service) });
const cases = await refusedCredentials(pki, {
  audience: 'policy-engine',
  allowed: 'cli',
  outsider: 'inference',
});

describe('credentials', () => {
  it.each(cases)('refuses $name with $status $code', async ({ headers, status, code }) => {
    assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/policy', headers }),
      status,
      code,
    );
  });
  it('refuses a gate that may decide but not reload (403)', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/reload', headers: as('agent') });
    assertProblem(res, 403, 'SCOPE_DENIED');
  });
});

describe('the OpenAPI document', () => {
  it('describes every route, to any authenticated service', async () => {
    const { status, gaps, document } = await openApiGapsOf(
      app,
      bearer(pki, 'agent', 'policy-engine'),
    );
    expect(status).toBe(200);
    expect(gaps).toEqual([]);
    // The decide body is documented even though the handler, not fastify, validates it.
    expect(JSON.stringify(document)).toContain('"requestBody"');
  });
});

describe('validation and not found', () => {
  it('answers a batch that is not { requests: [...] } with 400 REQUEST_INVALID', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/decide/batch',
      headers: { ...as('agent'), 'content-type': 'application/json' },
      payload: JSON.stringify({ requests: [] }),
    });
    assertProblem(res, 400, 'REQUEST_INVALID');
  });
  it('answers an unknown route with 404 NOT_FOUND', async () => {
    assertProblem(await get('/api/v1/policies'), 404, 'NOT_FOUND');
  });
  it('refuses a batch over its limit with 413', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/decide/batch',
      headers: { ...as('agent'), 'content-type': 'application/json' },
      payload: JSON.stringify({ pad: 'x'.repeat(64 * 64 * 1024 + 1) }),
    });
    assertProblem(res, 413, 'REQUEST_TOO_LARGE');
  });
  it('refuses a media type it has no parser for with 415', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/decide',
      headers: { ...as('agent'), 'content-type': 'application/xml' },
      payload: '<decide domain="egress"/>',
    });
    assertProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('bodies', () => {
  it('serialises the active policy and the statistics in full', async () => {
    const s = engine.snapshot!;
    expect((await get('/api/v1/policy')).json()).toEqual({
      digest: s.digest,
      version: s.version,
      files: s.files,
      documents: s.documents,
    });
    expect((await get('/api/v1/stats', 'ui')).json()).toEqual({
      policyDigest: s.digest,
      ...engine.stats,
    });
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({
      status: 'ok',
      policyDigest: s.digest,
      policyVersion: s.version,
      bus: { state: 'connected', since: '2030-01-01T00:00:00.000Z', reconnects: 0 },
    });
  });
});

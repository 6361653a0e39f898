import { afterAll, describe, expect, it } from 'vitest';
import { PATH_CLASSES } from '@secai/contracts';
import { createTestPki } from '@secai/contracts/testing';
import {
  assertProblem,
  bearer,
  busIn,
  openApiGapsOf,
  refusedCredentials,
} from '@secai/streams/http/testing';
import {
  buildHttp,
  type CheckSummary,
  type ClassStatus,
  type MonitorStatus,
  type OpenViolation,
} from '../src/index.js';

// The monitor's gateway in process, with an in-memory monitor: tokens and scopes, validation,
// problem documents, the OpenAPI document, and bodies serialised in full.
const pki = await createTestPki();
const violation: OpenViolation = {
  pathClass: 'policy_file',
  path: '/etc/secai/policy/agent.yaml',
  kind: 'modified',
  expected: `sha256:${'a'.repeat(64)}`,
  actual: `sha256:${'b'.repeat(64)}`,
  severity: 'high',
  firstSeenAt: '2026-01-01T00:00:00.000Z',
  reported: true,
};
const summary: CheckSummary = {
  trigger: 'request',
  scope: 'full',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 12,
  filesChecked: 40,
  bytesHashed: 4096,
  violations: 1,
  reported: 1,
  state: 'degraded',
};
const classStatus = (c: string): ClassStatus => ({
  state: c === 'policy_file' ? 'degraded' : 'ok',
  violationCount: c === 'policy_file' ? 1 : 0,
  severity: 'high',
  baseline:
    c === 'model_file'
      ? null
      : { entriesDigest: `sha256:${'c'.repeat(64)}`, entryCount: 3, intact: true },
  lastCheckAt: '2026-01-01T00:00:00.000Z',
});
const monitorStatus: MonitorStatus = {
  state: 'degraded',
  violationCount: 1,
  classes: Object.fromEntries(
    PATH_CLASSES.map((c) => [c, classStatus(c)]),
  ) as MonitorStatus['classes'],
  lastScan: summary,
  lastCheck: null,
  scanCount: 1,
  checkCount: 0,
  modelsHashed: 2,
  watchedDirectories: 5,
  scanIntervalSeconds: 300,
  configDigest: `sha256:${'d'.repeat(64)}`,
};
const bus = busIn('connected');
const app = buildHttp({
  bus,
  monitor: {
    status: () => monitorStatus,
    violations: (pathClass) =>
      [violation].filter((v) => pathClass === undefined || v.pathClass === pathClass),
    scan: () => Promise.resolve(summary),
  },
  trust: pki.trust,
});
afterAll(() => app.close());

const as = (service: string) => ({ authorization: bearer(pki, service, 'integrity-monitor') });
const get = (url: string, service = 'cli') =>
  app.inject({ method: 'GET', url, headers: as(service) });
const cases = await refusedCredentials(pki, {
  audience: 'integrity-monitor',
  allowed: 'cli',
  outsider: 'agent',
});

describe('credentials', () => {
  it.each(cases)('refuses $name with $status $code', async ({ headers, status, code }) => {
    assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/status', headers }),
      status,
      code,
    );
  });
  it('refuses a reader without the scan scope (403)', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/scan', headers: as('ui') });
    assertProblem(res, 403, 'SCOPE_DENIED');
  });
  it('serves /health without a token', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.json()).toEqual({
      status: 'ok',
      state: 'degraded',
      violationCount: 1,
      bus: { state: 'connected', since: '2030-01-01T00:00:00.000Z', reconnects: 0 },
    });
  });
});

describe('the OpenAPI document', () => {
  it('describes every route, to any authenticated service', async () => {
    const { status, gaps } = await openApiGapsOf(app, bearer(pki, 'agent', 'integrity-monitor'));
    expect(status).toBe(200);
    expect(gaps).toEqual([]);
  });
});

describe('validation and not found', () => {
  it.each([
    ['an unknown query field', '/api/v1/violations?all=1'],
    ['a path class outside the list', '/api/v1/violations?pathClass=home'],
  ])('answers %s with 400 REQUEST_INVALID', async (_name, url) => {
    const problem = assertProblem(await get(url), 400, 'REQUEST_INVALID');
    expect(problem.detail).toMatch(/^querystring/);
  });
  it('answers an unknown route with 404 NOT_FOUND', async () => {
    assertProblem(await get('/api/v1/rebaseline'), 404, 'NOT_FOUND');
  });
  it('refuses an oversized body with 413', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/scan',
      headers: { ...as('cli'), 'content-type': 'application/json' },
      payload: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }),
    });
    assertProblem(res, 413, 'REQUEST_TOO_LARGE');
  });
});

describe('bodies', () => {
  it('serialises the status and the violations in full', async () => {
    expect((await get('/api/v1/status')).json()).toEqual(monitorStatus);
    expect((await get('/api/v1/violations?pathClass=policy_file')).json()).toEqual({
      violations: [violation],
      count: 1,
    });
  });
  it('answers a scan with its summary and the open violations', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/scan', headers: as('appliance') });
    const { violations: violationCount, ...rest } = summary;
    expect(res.json()).toEqual({ ...rest, violationCount, violations: [violation] });
  });
});

describe('the bus (issue 10 §4)', () => {
  it('while it is down: /health 503 degraded, scan 503 BUS_UNAVAILABLE at once, reads served', async () => {
    bus.set('closed');
    try {
      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'degraded', bus: { state: 'closed' } });
      const scan = await app.inject({ method: 'POST', url: '/api/v1/scan', headers: as('cli') });
      assertProblem(scan, 503, 'BUS_UNAVAILABLE');
      expect(scan.headers['retry-after']).toBeDefined();
      expect((await get('/api/v1/status')).statusCode).toBe(200);
      expect((await get('/api/v1/violations')).statusCode).toBe(200);
    } finally {
      bus.set('connected');
    }
  });
});

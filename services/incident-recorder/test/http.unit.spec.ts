import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki } from '@secai/contracts/testing';
import {
  busIn,
  assertProblem,
  bearer,
  openApiGapsOf,
  refusedCredentials,
} from '@secai/streams/http/testing';
import {
  ExportError,
  buildHttp,
  defaultIncidentPolicy,
  incidentView,
  replayIncident,
  intakeHealth,
  type HttpDeps,
  type IncidentEvent,
  type LagSample,
  type IncidentRecord,
  type LoadedPolicy,
} from '../src/index.js';
import type { BusHealth } from '@secai/streams';

// The recorder's gateway in process, with an in-memory book of incidents replayed by the real
// machine: tokens and scopes, validation, problem documents, the OpenAPI document, and bodies
// serialised in full.
const pki = await createTestPki();
const opened: IncidentEvent = {
  type: 'incident.opened',
  id: 'evt-1',
  seq: 3,
  time: '2026-01-01T00:00:00.000Z',
  data: {
    incidentId: 'inc-1',
    class: 'integrity_violation',
    severity: 'high',
    subject: 'integrity/policy_file',
    reportedBy: 'integrity-monitor',
    causeEventIds: ['evt-0'],
    description: 'agent.yaml changed',
  },
};
const record: IncidentRecord = {
  snapshot: replayIncident([opened]).snapshot,
  lastSequence: 3,
  anomalies: 0,
};
let loaded: LoadedPolicy;
const settled: LagSample = {
  total: 0,
  consumers: [{ durable: 'incident-recorder-observations', lag: 0, ackFloor: 3, ackPending: 0 }],
  at: '2026-01-01T00:00:01.000Z',
};
let lag: LagSample | null = settled;
/** The gateway's own view of the bus (the intake's `bus` below is what /health reports). */
const gatewayBus = busIn('connected');
let bus: BusHealth = { state: 'connected', since: '2026-01-01T00:00:00.000Z', reconnects: 0 };
let app: ReturnType<typeof buildHttp>;
let exportFails: ExportError | null = null;

beforeAll(async () => {
  loaded = await defaultIncidentPolicy();
  const deps: HttpDeps = {
    book: {
      all: () => [['inc-1', record]],
      anomalies: () => 0,
      get: (id) => (id === 'inc-1' ? record : undefined),
      load: (id) =>
        Promise.resolve(
          id === 'inc-1'
            ? { record, events: [opened] }
            : { record: { ...record, lastSequence: 0 }, events: [] },
        ),
    },
    recorder: {
      resolve: () =>
        Promise.resolve({
          ok: false,
          state: 'open',
          refusal: { code: 'reattestation_required', message: 'attest first' },
        }),
      acknowledge: () =>
        Promise.resolve({
          ok: false,
          state: 'open',
          refusal: { code: 'not_resolved', message: 'resolve first' },
        }),
    },
    policy: () => loaded,
    reload: () =>
      Promise.resolve({
        ok: false,
        problems: [{ path: 'classes.tool_call_burst', code: 'UNKNOWN_KEY', message: 'unknown' }],
      }),
    exportIncident: (id) =>
      exportFails
        ? Promise.reject(exportFails)
        : Promise.reject(new ExportError('INCIDENT_UNKNOWN', `no incident ${id}`)),
    chain: () => ({ lastSeq: 3, sealedToSeq: 3, head: 'h', mismatches: 0, ok: true }),
    intake: () => {
      const health = intakeHealth(lag, 100, bus);
      return { lag, maxLag: 100, bus, ...health };
    },
    bus: gatewayBus,
    trust: pki.trust,
  };
  app = buildHttp(deps);
});
afterAll(() => app.close());

const as = (service: string) => ({ authorization: bearer(pki, service, 'incident-recorder') });
const get = (url: string, service = 'cli') =>
  app.inject({ method: 'GET', url, headers: as(service) });
const step = (id: string, body: unknown, service = 'cli', kind = 'resolve') =>
  app.inject({
    method: 'POST',
    url: `/api/v1/incidents/${id}/${kind}`,
    headers: { ...as(service), 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
const cases = await refusedCredentials(pki, {
  audience: 'incident-recorder',
  allowed: 'cli',
  outsider: 'agent',
});

describe('credentials', () => {
  it.each(cases)('refuses $name with $status $code', async ({ headers, status, code }) => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/incidents', headers });
    assertProblem(res, status, code);
  });
  it('refuses a reader who may not operate or export (403)', async () => {
    assertProblem(await step('inc-1', { operator: 'ann' }, 'appliance'), 403, 'SCOPE_DENIED');
    assertProblem(await get('/api/v1/incidents/inc-1/export', 'appliance'), 403, 'SCOPE_DENIED');
  });
});

describe('the OpenAPI document', () => {
  it('describes every route, to any authenticated service', async () => {
    const { status, gaps } = await openApiGapsOf(app, bearer(pki, 'agent', 'incident-recorder'));
    expect(status).toBe(200);
    expect(gaps).toEqual([]);
  });
});

describe('validation, refusals and not found', () => {
  it.each([
    ['a state outside the lifecycle', '/api/v1/incidents?state=closed'],
    ['an unknown query field', '/api/v1/incidents?sort=asc'],
    ['a limit of zero', '/api/v1/incidents?limit=0'],
    ['an id with a slash-free but bad character', '/api/v1/incidents/inc.1'],
  ])('answers %s with 400 REQUEST_INVALID', async (_name, url) => {
    assertProblem(await get(url), 400, 'REQUEST_INVALID');
  });
  it.each([
    ['no operator', {}],
    ['an unknown field', { operator: 'ann', force: true }],
    ['a control character in the operator', { operator: 'ann\u0007' }],
  ])('answers a step with %s with 400 REQUEST_INVALID', async (_name, body) => {
    const problem = assertProblem(await step('inc-1', body), 400, 'REQUEST_INVALID');
    expect(problem.detail).toMatch(/^body/);
  });
  it('maps a refused step to 409 with its code', async () => {
    assertProblem(await step('inc-1', { operator: 'ann' }), 409, 'REATTESTATION_REQUIRED');
    assertProblem(
      await step('inc-1', { operator: 'ann' }, 'ui', 'acknowledge'),
      409,
      'NOT_RESOLVED',
    );
  });
  it('answers an unknown incident with 404 INCIDENT_UNKNOWN', async () => {
    assertProblem(await get('/api/v1/incidents/inc-2'), 404, 'INCIDENT_UNKNOWN');
    assertProblem(await get('/api/v1/incidents/inc-2/export'), 404, 'INCIDENT_UNKNOWN');
  });
  it('answers an export over the limit with 413', async () => {
    exportFails = new ExportError('EXPORT_TOO_LARGE', 'the bundle would exceed 64 MiB');
    const res = await get('/api/v1/incidents/inc-1/export');
    exportFails = null;
    assertProblem(res, 413, 'EXPORT_TOO_LARGE');
  });
  it('refuses an oversized body with 413', async () => {
    const res = await step('inc-1', { operator: 'ann', note: 'x'.repeat(70 * 1024) });
    assertProblem(res, 413, 'REQUEST_TOO_LARGE');
  });
  it('answers a refused policy with 422 and its problems', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/reload', headers: as('ui') });
    expect(assertProblem(res, 422, 'POLICY_INVALID')).toMatchObject({
      problems: [{ path: 'classes.tool_call_burst', code: 'UNKNOWN_KEY', message: 'unknown' }],
    });
  });
});

describe('bodies', () => {
  it('serialises incidents and their timeline in full', async () => {
    const view = incidentView('inc-1', record, loaded.policy);
    expect((await get('/api/v1/incidents?state=open')).json()).toEqual({
      incidents: [view],
      total: 1,
    });
    expect((await get('/api/v1/incidents/inc-1')).json()).toEqual({
      incident: view,
      timeline: [
        { seq: 3, id: 'evt-1', type: 'incident.opened', time: opened.time, data: opened.data },
      ],
    });
  });
  it('counts every state, class and severity, the active ones as the machine says', async () => {
    const stats = (await get('/api/v1/stats', 'appliance')).json<{
      open: number;
      byState: Record<string, number>;
      openBySeverity: Record<string, number>;
    }>();
    expect(stats.open).toBe(1);
    expect(stats.byState).toEqual({
      open: 1,
      contained: 0,
      containment_failed: 0,
      resolved: 0,
      acknowledged: 0,
    });
    expect(stats.openBySeverity).toEqual({ low: 0, medium: 0, high: 1, critical: 0 });
  });
});

describe('GET /health (no token)', () => {
  const health = async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    return res.json<{
      status: string;
      lag: { total: number | null; max: number; consumers: unknown[] };
      bus: { state: string };
      reasons: string[];
    }>();
  };

  it('is ok with the lanes settled and the bus connected, and shows both', async () => {
    lag = settled;
    bus = { ...bus, state: 'connected' };
    expect(await health()).toMatchObject({
      status: 'ok',
      lag: { total: 0, max: 100, consumers: settled.consumers },
      bus: { state: 'connected' },
      reasons: [],
    });
  });

  it('is degraded while the observation lag is above its bound', async () => {
    lag = { ...settled, total: 101 };
    bus = { ...bus, state: 'connected' };
    expect(await health()).toMatchObject({
      status: 'degraded',
      lag: { total: 101 },
      reasons: ['observation lag 101 above 100'],
    });
  });

  it('is degraded when the lag is unknown or the bus is not connected', async () => {
    lag = null;
    bus = { ...bus, state: 'reconnecting' };
    expect(await health()).toMatchObject({
      status: 'degraded',
      lag: { total: null },
      bus: { state: 'reconnecting' },
      reasons: ['bus reconnecting', 'observation lag unknown'],
    });
    lag = settled;
    bus = { ...bus, state: 'connected' };
  });
});

describe('while the bus is down', () => {
  it('answers 503 BUS_UNAVAILABLE at once on routes that need it, and still lists from memory', async () => {
    gatewayBus.set('reconnecting');
    try {
      const show = await get('/api/v1/incidents/INC-20260101-000000-aaaaaaaaaaaa');
      assertProblem(show, 503, 'BUS_UNAVAILABLE');
      const exported = await get('/api/v1/incidents/INC-20260101-000000-aaaaaaaaaaaa/export');
      assertProblem(exported, 503, 'BUS_UNAVAILABLE');
      expect((await get('/api/v1/incidents')).statusCode).toBe(200);
      expect((await get('/api/v1/stats')).statusCode).toBe(200);
    } finally {
      gatewayBus.set('connected');
    }
  });
});

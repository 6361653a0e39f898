import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestPki } from '@secai/contracts/testing';
import {
  assertProblem,
  bearer,
  busIn,
  openApiGapsOf,
  refusedCredentials,
} from '@secai/streams/http/testing';
import {
  GPU_WATCH_ERROR_CODES,
  GpuWatchError,
  SCOPES,
  buildHttp,
  type AttestState,
  type CeremonyReport,
  type CycleReport,
  type PolicyView,
  type ScoreEntry,
  type WatchStatus,
} from '../src/index.js';
import type { HistoryResponse } from '../src/api.js';

// The watch's gateway in process, with an in-memory watch: who may call what (an attacker's
// credentials, another service's token), validation, the error mapping, bodies in full.

const pki = await createTestPki();
const M1 = `sha256:${'1'.repeat(64)}`;
const probe = {
  probe: 'ecc_status' as const,
  status: 'skip' as const,
  score: 0,
  findings: [{ description: 'nvidia-smi not found', severity: 'info' as const }],
  durationMs: 1,
};
const policy: PolicyView = {
  active: true,
  digest: `sha256:${'d'.repeat(64)}`,
  problem: null,
  intervalSeconds: 300,
  disabledProbes: [],
};
const status: WatchStatus = {
  host: 'appliance-1',
  verdict: 'critical',
  composite: 0.5,
  cycle: 7,
  lastCycleAt: '2026-12-07T10:00:00.000Z',
  probes: [probe],
  trend: 0.25,
  anomalies: [
    {
      kind: 'model_drift',
      model: M1,
      failedProbes: ['sentinel_inference'],
      severity: 'high',
      summary: 'sentinel tokens differ',
      reported: true,
    },
  ],
  anomaliesReported: 1,
  baseline: {
    eventId: 'evt-9',
    capturedAt: '2026-12-07T09:00:00.000Z',
    operator: 'alice',
    reason: 'first boot',
    sentinels: 1,
    tensorHashes: 1,
    host: { capturedAt: '2026-12-07T09:00:00.000Z', driver: null, devices: [] },
  },
  policy,
  nextCycleAt: '2026-12-07T10:05:00.000Z',
};
const cycle: CycleReport = {
  cycle: 8,
  trigger: 'request',
  eventId: 'evt-10',
  at: '2026-12-07T10:01:00.000Z',
  verdict: 'healthy',
  composite: 0,
  probes: [probe],
  reported: [],
  ongoing: 0,
};
const ceremony: CeremonyReport = {
  eventId: 'evt-11',
  capturedAt: '2026-12-07T10:02:00.000Z',
  operator: 'alice',
  tensorHashes: 1,
  sentinels: [{ model: M1, tokens: 16 }],
  notLoaded: [],
  skipped: [],
  driver: { version: '550.54.14', module: 'nvidia', moduleDigest: null },
  devices: ['card0'],
};
const attest: AttestState = {
  host: 'appliance-1',
  at: '2026-12-07T10:00:00.000Z',
  cycle: 7,
  verdict: 'critical',
  composite: 0.5,
  probeStatuses: { sentinel_inference: 'fail' },
  probeScores: { sentinel_inference: 1 },
  driverVersion: null,
  deviceNodes: [],
  trend: 0.25,
  baselineEventId: 'evt-9',
  policyDigest: policy.digest,
};

let failWith: GpuWatchError | null = null;
const ceremonies: { operator: string; reason: string }[] = [];
const bus = busIn('connected');
const app = buildHttp({
  bus,
  trust: pki.trust,
  watch: {
    status: () => status,
    history: (limit) =>
      (
        [
          {
            cycle: 7,
            at: '2026-12-07T10:00:00.000Z',
            composite: 0.5,
            verdict: 'critical',
            probeScores: { sentinel_inference: 1 },
            probeStatuses: { sentinel_inference: 'fail' },
          },
        ] satisfies ScoreEntry[]
      ).slice(0, limit),
    attestState: () => attest,
    policyView: () => policy,
    cycle: () => (failWith ? Promise.reject(failWith) : Promise.resolve(cycle)),
    ceremony: (input) => {
      if (failWith) return Promise.reject(failWith);
      ceremonies.push(input);
      return Promise.resolve(ceremony);
    },
  },
});
afterAll(() => app.close());

const AUD = 'gpu-integrity-watch';
const as = (service: string) => ({ authorization: bearer(pki, service, AUD) });
const call = (method: 'GET' | 'POST', url: string, service: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: as(service),
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  });
const cases = await refusedCredentials(pki, {
  audience: AUD,
  allowed: 'cli',
  outsider: 'registry',
});

describe('credentials', () => {
  it.each(cases)('refuses $name with $status $code', async ({ headers, status: s, code }) => {
    assertProblem(await app.inject({ method: 'GET', url: '/api/v1/status', headers }), s, code);
  });

  it.each([
    // The ceremony: only the operator's front ends, never the supervisor or the attestor.
    ['POST', '/api/v1/baseline', 'appliance'],
    ['POST', '/api/v1/baseline', 'runtime-attestor'],
    ['POST', '/api/v1/baseline', 'inference'],
    // The attestor reads its state, nothing else.
    ['GET', '/api/v1/status', 'runtime-attestor'],
    ['POST', '/api/v1/check', 'runtime-attestor'],
    // Other services have no business here.
    ['POST', '/api/v1/check', 'inference'],
    ['GET', '/api/v1/attest-state', 'registry'],
    ['GET', '/api/v1/history', 'incident-recorder'],
  ] as const)("%s %s with %s's token is 403 SCOPE_DENIED", async (method, url, service) => {
    const body =
      method === 'POST' && url.endsWith('baseline') ? { operator: 'x', reason: 'y' } : undefined;
    assertProblem(await call(method, url, service, body), 403, 'SCOPE_DENIED');
  });

  it.each([
    ['GET', '/api/v1/status', 'ui'],
    ['GET', '/api/v1/history', 'appliance'],
    ['POST', '/api/v1/check', 'appliance'],
    ['GET', '/api/v1/attest-state', 'runtime-attestor'],
    ['GET', '/api/v1/attest-state', 'cli'],
  ] as const)('%s %s is open to %s', async (method, url, service) => {
    expect((await call(method, url, service)).statusCode).toBe(200);
  });

  it('serves /health without a token', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ok',
      watching: true,
      policyProblem: null,
      lastCycle: { cycle: 7, at: '2026-12-07T10:00:00.000Z', verdict: 'critical' },
      bus: { state: 'connected', since: '2030-01-01T00:00:00.000Z', reconnects: 0 },
    });
  });
});

describe('the OpenAPI document', () => {
  it('describes every route, to any authenticated service', async () => {
    const { status: s, gaps } = await openApiGapsOf(app, bearer(pki, 'agent', AUD));
    expect(s).toBe(200);
    expect(gaps).toEqual([]);
  });
});

describe('the ceremony', () => {
  it('records the operator and the reason: 201 with the capture', async () => {
    const res = await call('POST', '/api/v1/baseline', 'cli', {
      operator: 'alice',
      reason: 'driver 550 installed',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual(ceremony);
    expect(ceremonies.at(-1)).toEqual({ operator: 'alice', reason: 'driver 550 installed' });
  });

  it.each([
    ['no reason', { operator: 'alice' }],
    ['an empty operator', { operator: '', reason: 'r' }],
    ['a control character in the operator', { operator: 'ali\u0007ce', reason: 'r' }],
    ['an unknown field', { operator: 'alice', reason: 'r', force: true }],
    ['a reason past 512 characters', { operator: 'alice', reason: 'r'.repeat(513) }],
  ])('refuses %s with 400 REQUEST_INVALID', async (_name, body) => {
    assertProblem(await call('POST', '/api/v1/baseline', 'ui', body), 400, 'REQUEST_INVALID');
  });

  it('the reserved operator name is 400 OPERATOR_RESERVED', async () => {
    failWith = new GpuWatchError('OPERATOR_RESERVED', 'gpu-integrity-watch is reserved');
    try {
      const res = await call('POST', '/api/v1/baseline', 'cli', {
        operator: 'gpu-integrity-watch',
        reason: 'r',
      });
      assertProblem(res, 400, 'OPERATOR_RESERVED');
    } finally {
      failWith = null;
    }
  });
});

describe('checks and reads', () => {
  it('a check answers with the recorded cycle', async () => {
    const res = await call('POST', '/api/v1/check', 'cli');
    expect(res.json()).toEqual(cycle);
  });

  it('without a policy a check is 409 POLICY_UNAVAILABLE (fail closed)', async () => {
    failWith = new GpuWatchError('POLICY_UNAVAILABLE', 'no policy.loaded is active');
    try {
      const problem = assertProblem(
        await call('POST', '/api/v1/check', 'cli'),
        409,
        'POLICY_UNAVAILABLE',
      );
      expect(problem.detail).toBe('no valid policy is active: no policy.loaded is active');
    } finally {
      failWith = null;
    }
  });

  it('serialises status, history and the attest state in full', async () => {
    expect((await call('GET', '/api/v1/status', 'cli')).json()).toEqual(status);
    expect((await call('GET', '/api/v1/attest-state', 'runtime-attestor')).json()).toEqual(attest);
    const history = (await call('GET', '/api/v1/history?limit=1', 'cli')).json<HistoryResponse>();
    expect(history).toMatchObject({ count: 1, trend: 0.25 });
  });

  it.each(['0', '201', 'ten', '-1'])('refuses history limit %s with 400', async (limit) => {
    assertProblem(
      await call('GET', `/api/v1/history?limit=${limit}`, 'cli'),
      400,
      'REQUEST_INVALID',
    );
  });
});

describe('the bus (issue 10 §4)', () => {
  it('while it is down: /health 503, check and ceremony 503 BUS_UNAVAILABLE, reads served', async () => {
    bus.set('closed');
    try {
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
      assertProblem(await call('POST', '/api/v1/check', 'cli'), 503, 'BUS_UNAVAILABLE');
      assertProblem(
        await call('POST', '/api/v1/baseline', 'cli', { operator: 'a', reason: 'b' }),
        503,
        'BUS_UNAVAILABLE',
      );
      expect((await call('GET', '/api/v1/status', 'cli')).statusCode).toBe(200);
      expect((await call('GET', '/api/v1/attest-state', 'runtime-attestor')).statusCode).toBe(200);
    } finally {
      bus.set('connected');
    }
  });
});

describe('the README', () => {
  it('documents every error code and every route with its callers', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of GPU_WATCH_ERROR_CODES) expect(readme).toContain(`\`${code}\``);
    for (const [scope, route] of [
      ['read', '`GET /api/v1/status`'],
      ['check', '`POST /api/v1/check`'],
      ['baseline', '`POST /api/v1/baseline`'],
      ['attest', '`GET /api/v1/attest-state`'],
    ] as const)
      expect(readme).toContain(`| ${route} | ${SCOPES[scope].join(', ')} |`);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  issueBearerToken,
  verifyEnvelope,
  type CloudEvent,
  type EventData,
} from '@secai/contracts';
import { readHistory } from '@secai/streams';
import { createRogueSigner } from '@secai/contracts/testing';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { startRecorder, type RunningRecorder } from '@secai/incident-recorder';
import { startGpuWatch, type RunningWatch } from '../src/index.js';
import type { CheckResponse, StatusResponse } from '../src/api.js';
import { gpuEvents, ofType, recordPolicy, storeModel, type StoredModel } from './busFixtures.js';
import { healthyNvidia, type GpuTree } from './gpuTree.js';

// The watch on a real nats-server with real identities: a fixture GPU host, the registry's
// manifest and the engine's policy read from the stream, cycles and the ceremony through the
// gateway with real tokens, its events recorded and verified, the incident recorder classifying
// its anomalies, and a restart rebuilding everything (dedupe included) from the stream.

const log = pino({ level: 'silent' });
const HOST = `int-${randomBytes(3).toString('hex')}`;
const AUD = 'gpu-integrity-watch';
let app: TestAppliance;
let watchSide: ServiceClient;
let engine: ServiceClient;
let dir: string;
let tree: GpuTree;
let model: StoredModel;
let running: RunningWatch;
let recorder: RunningRecorder;
let nowhere: string;

/** A loopback URL nothing listens on (a port just freed). */
async function freeUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

const start = (autoCycle = false) =>
  startGpuWatch(watchSide, {
    stateDir: join(dir, 'state'),
    root: tree.root,
    host: HOST,
    // Nothing listens there: the sentinel probes are off in this file's policy, and the ceremony
    // records that inference did not answer.
    inferenceUrl: nowhere,
    autoCycle,
    log,
  });

beforeAll(async () => {
  app = await startTestAppliance();
  nowhere = await freeUrl();
  dir = await mkdtemp(join(tmpdir(), 'secai-gpu-watch-int-'));
  watchSide = await app.client('gpu-integrity-watch');
  engine = await app.client('policy-engine');
  tree = await healthyNvidia();
  model = await storeModel(
    await app.client('registry'),
    join(dir, 'state/registry/store'),
    randomBytes(64 * 1024),
    'tiny',
  );
  recorder = await startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'policy'),
    seal: { everyEvents: 1000, everyMs: 60_000 },
    log,
  });
  running = await start();
});

afterAll(async () => {
  await running?.stop();
  await recorder?.stop();
  await app?.cleanup();
  await tree?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const token = (service: string) =>
  `Bearer ${issueBearerToken(app.pki.signerFor(service), { audience: AUD, now: new Date() })}`;
const call = (method: 'GET' | 'POST', url: string, service = 'cli', payload?: object) =>
  running.http.inject({
    method,
    url,
    headers: { authorization: token(service) },
    ...(payload ? { payload } : {}),
  });
const check = async (): Promise<CheckResponse> => {
  const res = await call('POST', '/api/v1/check');
  expect(res.statusCode, res.body).toBe(200);
  return res.json<CheckResponse>();
};

async function incidents(): Promise<CloudEvent[]> {
  const out: CloudEvent[] = [];
  for await (const e of readHistory(app.admin.js, app.admin.jsm, app.admin.store.stream, {
    filterSubject: 'secai.evt.incident.>',
  }))
    out.push(verifyEnvelope(e.bytes, app.pki.trust).event);
  return out;
}

describe('without a policy', () => {
  it('runs no cycle: check is 409 POLICY_UNAVAILABLE and /health says why', async () => {
    const res = await call('POST', '/api/v1/check');
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'POLICY_UNAVAILABLE' });
    const health = await running.http.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toMatchObject({
      status: 'ok',
      watching: false,
      policyProblem: 'no policy.loaded is active',
      lastCycle: null,
    });
    expect(ofType(await gpuEvents(app, HOST), 'gpu.probe.completed')).toEqual([]);
  });
});

describe('with the engine’s policy', () => {
  let policyDigest: string;
  beforeAll(async () => {
    policyDigest = await recordPolicy(engine, {
      interval_seconds: 3600,
      disabled_probes: ['sentinel_inference', 'reference_drift'],
    });
  });

  it('the ceremony records gpu.baseline.captured: file digests, driver, device nodes', async () => {
    const res = await call('POST', '/api/v1/baseline', 'cli', {
      operator: 'alice',
      reason: 'first boot of the appliance',
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<{ eventId: string; skipped: { model: string; reason: string }[] }>();
    // Inference does not run in this file: no sentinel, and the reply says why.
    expect(body.skipped).toEqual([
      { model: model.digest, reason: `inference unreachable at ${nowhere} (ECONNREFUSED)` },
    ]);
    const [captured] = ofType(await gpuEvents(app, HOST), 'gpu.baseline.captured');
    expect(captured).toEqual({
      host: HOST,
      operator: 'alice',
      reason: 'first boot of the appliance',
      tensorHashes: [{ path: model.storePath, digest: model.digest }],
      sentinels: [],
      driver: {
        version: '550.54.14',
        module: 'nvidia',
        moduleDigest: expect.stringMatching(/^sha256:/) as string,
      },
      devices: ['card0', 'nvidia0', 'nvidiactl', 'renderD128'],
    });
    const status = (await call('GET', '/api/v1/status')).json<StatusResponse>();
    expect(status.policy).toMatchObject({
      active: true,
      digest: policyDigest,
      intervalSeconds: 3600,
    });
    expect(status.baseline).toMatchObject({
      eventId: body.eventId,
      operator: 'alice',
      tensorHashes: 1,
    });
  });

  it('a healthy cycle records gpu.probe.completed with the four probes that are on', async () => {
    const c = await check();
    expect(c).toMatchObject({ cycle: 1, verdict: 'healthy', composite: 0, reported: [] });
    expect(c.probes.map((p) => [p.probe, p.status])).toEqual([
      ['tensor_hash', 'pass'],
      ['ecc_status', 'pass'],
      ['driver_fingerprint', 'pass'],
      ['device_allowlist', 'pass'],
    ]);
    const [completed] = ofType(await gpuEvents(app, HOST), 'gpu.probe.completed');
    expect(completed).toMatchObject({ host: HOST, cycle: 1, verdict: 'healthy' });
  });

  it('a changed driver is one anomaly, not repeated every cycle, and an incident on gpu/<host>', async () => {
    await tree.setDriver({
      module: 'nvidia',
      version: '555.42.02',
      srcversion: 'A1B2C3D4E5F60718293A4B5',
    });
    const first = await check();
    expect(first.verdict).toBe('critical');
    expect(first.reported).toEqual([
      expect.objectContaining({
        kind: 'driver_changed',
        model: null,
        failedProbes: ['driver_fingerprint'],
        severity: 'critical',
      }),
    ]);
    const again = await check();
    expect(again).toMatchObject({ verdict: 'critical', reported: [], ongoing: 1 });
    const anomalies = ofType(await gpuEvents(app, HOST), 'gpu.anomaly.detected');
    expect(anomalies.map((a) => a.kind)).toEqual(['driver_changed']);

    let opened: EventData<'incident.opened'> | undefined;
    await waitFor(
      async () => {
        opened = (await incidents())
          .filter((e) => e.type === 'incident.opened')
          .map((e) => e.data as EventData<'incident.opened'>)
          .find((o) => o.subject === `gpu/${HOST}`);
        return opened !== undefined;
      },
      30_000,
      'the recorder to open the driver incident',
    );
    expect(opened).toMatchObject({
      class: 'integrity_violation',
      severity: 'critical',
      reportedBy: 'gpu-integrity-watch',
    });
  });

  it('ECC errors and an unknown device node each add their own anomaly', async () => {
    await tree.setEcc('0, 3, Enabled\n');
    await tree.addDevice('dri/card1');
    const c = await check();
    expect(c.reported.map((a) => a.kind)).toEqual(['device_unexpected', 'hardware_fault']);
    expect(c.ongoing).toBe(1); // the driver, reported before
  });

  it('a model file written in place is model_file_changed about that model, an incident on model/<hex>', async () => {
    const fh = await open(model.path, 'r+');
    await fh.write(Buffer.from('tampered'), 0, 8, 1024);
    await fh.close();
    const c = await check();
    expect(c.reported).toEqual([
      expect.objectContaining({
        kind: 'model_file_changed',
        model: model.digest,
        failedProbes: ['tensor_hash'],
      }),
    ]);
    await waitFor(
      async () =>
        (await incidents()).some(
          (e) =>
            e.type === 'incident.opened' &&
            (e.data as EventData<'incident.opened'>).subject === `model/${model.hex}` &&
            (e.data as EventData<'incident.opened'>).class === 'manifest_mismatch',
        ),
      30_000,
      'the recorder to open the model file incident',
    );
  });

  it('history and the attest state follow the cycles', async () => {
    const history = (await call('GET', '/api/v1/history?limit=3')).json<{
      entries: { cycle: number; verdict: string }[];
    }>();
    expect(history.entries.map((e) => e.cycle)).toEqual([3, 4, 5]);
    const attest = await call('GET', '/api/v1/attest-state', 'runtime-attestor');
    expect(attest.statusCode).toBe(200);
    expect(attest.json()).toMatchObject({
      host: HOST,
      cycle: 5,
      verdict: 'critical',
      driverVersion: '555.42.02',
      deviceNodes: ['card0', 'card1', 'nvidia0', 'nvidiactl', 'renderD128'],
      probeStatuses: {
        tensor_hash: 'fail',
        ecc_status: 'fail',
        driver_fingerprint: 'fail',
        device_allowlist: 'fail',
      },
    });
  });
});

describe('who may call', () => {
  it("another service's token is 403; a forged or absent one 401", async () => {
    expect(
      (await call('POST', '/api/v1/baseline', 'appliance', { operator: 'a', reason: 'b' }))
        .statusCode,
    ).toBe(403);
    expect((await call('GET', '/api/v1/status', 'registry')).statusCode).toBe(403);
    expect((await call('GET', '/api/v1/status', 'runtime-attestor')).statusCode).toBe(403);
    const forged = issueBearerToken(createRogueSigner('cli'), { audience: AUD, now: new Date() });
    const refused = await running.http.inject({
      method: 'POST',
      url: '/api/v1/baseline',
      headers: { authorization: `Bearer ${forged}` },
      payload: { operator: 'mallory', reason: 'hide the new driver' },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'TOKEN_INVALID' });
    const none = await running.http.inject({ method: 'POST', url: '/api/v1/check' });
    expect(none.statusCode).toBe(401);
    // None of them recorded anything.
    expect(ofType(await gpuEvents(app, HOST), 'gpu.baseline.captured')).toHaveLength(1);
  });
});

describe('after a restart', () => {
  it('rebuilds baseline, history and what was reported from the stream: nothing is reported twice', async () => {
    const before = (await call('GET', '/api/v1/status')).json<StatusResponse>();
    await running.stop();
    running = await start(true);
    const rebuilt = running.watch.status();
    expect(rebuilt.cycle).toBe(before.cycle);
    expect(rebuilt.baseline).toEqual(before.baseline);
    expect(rebuilt.anomaliesReported).toBe(4);
    // The start-up cycle (autoCycle) finds the same four anomalies and reports none of them.
    // Its state moves once the whole cycle (the completion and any anomaly) is appended.
    await waitFor(
      () => running.watch.status().cycle === before.cycle + 1,
      30_000,
      'the start-up cycle',
    );
    expect(ofType(await gpuEvents(app, HOST), 'gpu.probe.completed')).toHaveLength(
      before.cycle + 1,
    );
    expect(ofType(await gpuEvents(app, HOST), 'gpu.anomaly.detected')).toHaveLength(4);
  });

  it('after a new ceremony the new state is the baseline: healthy again', async () => {
    const res = await call('POST', '/api/v1/baseline', 'ui', {
      operator: 'bob',
      reason: 'driver 555 installed, card1 added, model file restored from the registry',
    });
    expect(res.statusCode).toBe(201);
    // The tampered file is not baselined: the ceremony skips it and says why.
    expect(res.json<{ skipped: unknown[] }>().skipped).toEqual([
      { model: model.digest, reason: "the file does not match the registry's digest" },
    ]);
    await tree.setEcc('0, 0, Enabled\n');
    const c = await check();
    expect(c.probes.find((p) => p.probe === 'driver_fingerprint')?.status).toBe('pass');
    expect(c.probes.find((p) => p.probe === 'device_allowlist')?.status).toBe('pass');
    expect(c.probes.find((p) => p.probe === 'ecc_status')?.status).toBe('pass');
    // The file is still not the registry's: reported again against the new baseline.
    expect(c.reported.map((a) => a.kind)).toEqual(['model_file_changed']);
  });
});

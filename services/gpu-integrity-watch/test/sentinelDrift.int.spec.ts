import { cp, mkdtemp, open, readFile, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
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
import { buildTinyLlamaGguf, writeTinyLlamaGguf, type TinyGguf } from '@secai/formats/testing';
import { startRecorder, type RunningRecorder } from '@secai/incident-recorder';
import { startInference, type RunningInference } from '@secai/inference';
import { DEFAULT_POLICY_DIR, PolicyEngine, PolicyHost } from '@secai/policy-engine';
import { removeTree, startRegistry, type RunningRegistry } from '@secai/registry';
import { readHistory, type LoadedEvent } from '@secai/streams';
import { startTestAppliance, waitFor, type TestAppliance } from '@secai/streams/testing';
import {
  AUTO_OPERATOR,
  startGpuWatch,
  type BaselineCaptured,
  type RunningWatch,
} from '../src/index.js';
import type { CheckResponse } from '../src/api.js';
import { gpuEvents } from './busFixtures.js';
import { makeGpuTree, type GpuTree } from './gpuTree.js';
import { overwriteInOwnMemory } from './processMemory.js';

// Sentinel drift end to end, on a host without a GPU (the sentinel is real on every host): the
// policy engine, the registry, the inference service running tiny GGUFs with node-llama-cpp,
// the incident recorder and the watch, each with its own identity on a real nats-server. Each
// model's first load captures its sentinel. Then two attacks:
// - a model file overwritten in place with another valid model of the same size (the issue's
//   scenario). Inference reads a model into memory when it loads it (`useMmap: false`, so a
//   write to the file never reaches loaded weights): the tensor hash reports the file, and the
//   sentinel shows the loaded weights did not change.
// - the weights changed in the memory of the process that runs the model, the file intact: the
//   next cycle finds the sentinel's tokens changed, reports the drift, and the recorder opens a
//   model_behavior_anomaly incident about that model, whose containment quarantines it.

const log = pino({ level: process.env.SECAI_TEST_LOG ?? 'silent' });
const HOST = 'sentinel-host';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let app: TestAppliance;
let dir: string;
let tree: GpuTree;
let registry: RunningRegistry;
let inference: RunningInference;
let inferenceUrl: string;
let recorder: RunningRecorder;
let watch: RunningWatch;

interface PromotedModel {
  name: string;
  hex: string;
  digest: string;
  /** The stored file. */
  path: string;
  gguf: TinyGguf;
}
/** Model A: its weights will be changed in memory. */
let tampered: PromotedModel;
/** Model C: its file will be overwritten in place. */
let overwritten: PromotedModel;
/** Another valid model of the same shapes and size (seed 22): the attacker's weights. */
let other: TinyGguf;

/** The shipped policy, with one thread for inference and no periodic GPU cycle. */
async function writePolicy(policyDir: string): Promise<void> {
  const file = join(policyDir, 'policy.yaml');
  const shipped = await readFile(file, 'utf8');
  const edited = shipped
    .replace(/^( {2}threads:) \d+$/m, '$1 1')
    .replace(/^( {2}interval_seconds:) \d+$/m, '$1 3600');
  expect(edited).toMatch(/^ {2}threads: 1$/m);
  expect(edited).toMatch(/^ {2}interval_seconds: 3600$/m);
  await writeFile(file, edited);
}

/** A tiny model promoted by the quarantine and stored by the real registry. */
async function promote(name: string, seed: number): Promise<PromotedModel> {
  const staging = join(dir, `${name}.gguf`);
  const gguf = await writeTinyLlamaGguf(staging, { seed, contextLength: 2048 });
  const hex = sha(gguf.buffer);
  await cp(staging, join(dir, 'quarantine', 'artifacts', hex, 'model.gguf'));
  const promoted: EventData<'model.promoted'> = {
    decisionId: `decision-${hex.slice(0, 8)}`,
    name,
    fileName: 'model.gguf',
    format: 'gguf',
    digest: `sha256:${hex}`,
    sizeBytes: gguf.buffer.length,
    policyDigest: `sha256:${'00'.repeat(32)}`,
  };
  await (
    await app.client('quarantine')
  ).store.append([{ type: 'model.promoted', aggregateId: hex, data: promoted }], {
    expectedSequence: 'any',
  });
  await waitFor(
    () => inference.manifest.runner.document.models[hex]?.status === 'available',
    30_000,
    `${name} in the manifest`,
  );
  const entry = inference.manifest.runner.document.models[hex]!;
  return {
    name,
    hex,
    digest: promoted.digest,
    path: join(dir, 'registry/store', entry.storePath),
    gguf,
  };
}

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-sentinel-int-'));
  const policyDir = join(dir, 'policy');
  await cp(DEFAULT_POLICY_DIR, policyDir, { recursive: true });
  await writePolicy(policyDir);
  const engine = new PolicyHost(
    new PolicyEngine(),
    (await app.client('policy-engine')).store,
    policyDir,
    log,
  );
  expect((await engine.reload('startup')).ok).toBe(true);
  registry = await startRegistry(await app.client('registry'), {
    stateDir: dir,
    verifyEveryMs: 0,
    log,
  });
  inference = await startInference(await app.client('inference'), {
    stateDir: dir,
    log,
    sweepEveryMs: 0,
  });
  inferenceUrl = await inference.http.listen({ host: '127.0.0.1', port: 0 });
  recorder = await startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'recorder'),
    seal: { everyEvents: 1000, everyMs: 60_000 },
    log,
  });
  tree = await makeGpuTree();
  watch = await startGpuWatch(await app.client('gpu-integrity-watch'), {
    stateDir: dir,
    root: tree.root,
    host: HOST,
    inferenceUrl,
    autoCycle: false,
    log,
  });
  tampered = await promote('tiny-a', 21);
  overwritten = await promote('tiny-c', 23);
  other = buildTinyLlamaGguf({ seed: 22, contextLength: 2048 });
  expect(other.buffer.length).toBe(tampered.gguf.buffer.length);
  expect(other.buffer.length).toBe(overwritten.gguf.buffer.length);
}, 120_000);

afterAll(async () => {
  await watch?.stop();
  await recorder?.stop();
  await inference?.http.close().catch(() => undefined);
  await inference?.stop().catch(() => undefined);
  await registry?.stop().catch(() => undefined);
  await app?.cleanup();
  await tree?.remove();
  if (dir) await removeTree(dir).catch(() => undefined);
});

const tokenFor = (service: string, audience: string) =>
  `Bearer ${issueBearerToken(app.pki.signerFor(service), { audience, now: new Date() })}`;

async function check(): Promise<CheckResponse> {
  const res = await watch.http.inject({
    method: 'POST',
    url: '/api/v1/check',
    headers: { authorization: tokenFor('cli', 'gpu-integrity-watch') },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<CheckResponse>();
}

/** A person's request: the first one loads the model. */
async function complete(model: PromotedModel): Promise<void> {
  const res = await fetch(`${inferenceUrl}/v1/completions`, {
    method: 'POST',
    headers: {
      authorization: tokenFor('cli', 'inference'),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ model: model.name, prompt: 'Hello', max_tokens: 2 }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function incidentOpened(cls: string, subject: string): Promise<EventData<'incident.opened'>> {
  let opened: EventData<'incident.opened'> | undefined;
  await waitFor(
    async () => {
      const events: CloudEvent[] = [];
      for await (const e of readHistory(app.admin.js, app.admin.jsm, app.admin.store.stream, {
        filterSubject: 'secai.evt.incident.>',
      }))
        events.push(verifyEnvelope(e.bytes, app.pki.trust).event);
      opened = events
        .filter((e) => e.type === 'incident.opened')
        .map((e) => e.data as EventData<'incident.opened'>)
        .find((o) => o.class === cls && o.subject === subject);
      return opened !== undefined;
    },
    30_000,
    `a ${cls} incident about ${subject}`,
  );
  return opened!;
}

const sentinelFindingOf = (c: CheckResponse, model: PromotedModel) =>
  c.probes
    .find((p) => p.probe === 'sentinel_inference')!
    .findings.find((f) => f.detail?.startsWith(model.digest));

const tensor = (gguf: TinyGguf, name: string): Buffer => {
  const t = gguf.tensors.find((x) => x.name === name)!;
  const at = gguf.dataOffset + t.offset;
  return gguf.buffer.subarray(at, at + t.sizeBytes);
};

describe('sentinel drift, end to end', () => {
  it("captures each model's sentinel at its first load, caused by inference's record of it", async () => {
    await complete(tampered);
    await complete(overwritten);
    let captures: LoadedEvent[] = [];
    await waitFor(
      async () => {
        captures = (await gpuEvents(app, HOST)).filter(
          (e) => e.event.type === 'gpu.baseline.captured',
        );
        return captures.length === 2;
      },
      60_000,
      'two first-load captures',
    );
    for (const m of [tampered, overwritten]) {
      const captured = captures.find(
        (e) => (e.event.data as BaselineCaptured).sentinels[0]?.model === m.digest,
      )!;
      expect(captured.event.data).toMatchObject({
        host: HOST,
        operator: AUTO_OPERATOR,
        reason: `first load of ${m.digest} (${m.name})`,
        tensorHashes: [{ digest: m.digest }],
        driver: null,
        devices: [],
      });
      // The shipped policy's sentinel_max_tokens.
      expect((captured.event.data as BaselineCaptured).sentinels[0]!.tokens).toHaveLength(16);
      const load = (await app.admin.store.load('inference-model', m.hex)).events.find(
        (e) => e.event.type === 'inference.model.loaded',
      )!;
      expect(captured.event.causationid).toBe(load.event.id);
    }
  });

  it('the same weights answer the same: the sentinels pass, the host probes skip', async () => {
    const c = await check();
    expect(c.verdict).toBe('healthy');
    expect(c.probes.map((p) => [p.probe, p.status])).toEqual([
      ['tensor_hash', 'pass'],
      ['sentinel_inference', 'pass'],
      ['reference_drift', 'pass'],
      ['ecc_status', 'skip'],
      ['driver_fingerprint', 'skip'],
      ['device_allowlist', 'skip'],
    ]);
    expect(c.reported).toEqual([]);
  });

  it('a model file overwritten in place: the tensor hash reports it; the loaded weights did not change', async () => {
    const before = await stat(overwritten.path);
    const fh = await open(overwritten.path, 'r+');
    await fh.write(other.buffer, 0, other.buffer.length, 0);
    await fh.close();
    expect((await stat(overwritten.path)).ino).toBe(before.ino);

    const c = await check();
    expect(c.reported).toEqual([
      expect.objectContaining({ kind: 'model_file_changed', model: overwritten.digest }),
    ]);
    // Inference read the weights into memory at load: what it computes with is still the
    // verified model, and the sentinel says so.
    expect(sentinelFindingOf(c, overwritten)).toMatchObject({
      description: 'sentinel tokens match the baseline',
    });
    await incidentOpened('manifest_mismatch', `model/${overwritten.hex}`);
  });

  it('weights changed in memory, the file intact: sentinel drift → gpu.anomaly.detected → incident', async () => {
    // The attacker's LM head in place of the loaded one.
    const replaced = await overwriteInOwnMemory(
      Buffer.from(tensor(tampered.gguf, 'output.weight')),
      Buffer.from(tensor(other, 'output.weight')),
    );
    expect(replaced).toBeGreaterThan(0);

    const c = await check();
    const sentinel = c.probes.find((p) => p.probe === 'sentinel_inference')!;
    expect(['drift', 'fail']).toContain(sentinel.status);
    expect(sentinelFindingOf(c, tampered)).toMatchObject({
      description: expect.stringMatching(/^sentinel tokens (differ|drifted)$/) as string,
    });
    // Only the sentinel can see it: the file still hashes to its digest.
    expect(c.probes.find((p) => p.probe === 'tensor_hash')!.status).toBe('pass');
    expect(c.reported).toEqual([
      expect.objectContaining({
        host: HOST,
        kind: 'model_drift',
        model: tampered.digest,
        failedProbes: expect.arrayContaining(['sentinel_inference']) as string[],
      }),
    ]);
    const opened = await incidentOpened('model_behavior_anomaly', `model/${tampered.hex}`);
    expect(opened).toMatchObject({ reportedBy: 'gpu-integrity-watch' });
    // Its containment quarantines the model: the registry contains it, inference unloads it.
    await waitFor(
      () => inference.manifest.runner.document.models[tampered.hex]?.status === 'contained',
      30_000,
      'the model contained',
    );
  });
});

import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import {
  issueBearerToken,
  verifyEnvelope,
  type CloudEvent,
  type EventData,
} from '@secai/contracts';
import { readHistory } from '@secai/streams';
import { writeTinyLlamaGguf } from '@secai/formats/testing';
import { DEFAULT_POLICY_DIR, PolicyEngine, PolicyHost } from '@secai/policy-engine';
import { removeTree, startRegistry, type RunningRegistry } from '@secai/registry';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { startInference, type RunningInference } from '../src/index.js';

// A real appliance slice for inference tests: nats-server, the policy engine's host (the shipped
// policy with this test's `inference` section), the registry with tiny GGUF models promoted into
// its store, and the inference service listening on a random loopback port.

export const log = pino({ level: process.env.SECAI_TEST_LOG ?? 'silent' });

export interface StoredModel {
  name: string;
  hex: string;
  digest: string;
  path: string;
  bytes: Buffer;
}

export interface InferenceFixture {
  app: TestAppliance;
  dir: string;
  registry: RunningRegistry;
  inference: RunningInference;
  policy: PolicyHost;
  baseURL: string;
  /** A signed bearer token of `service` for the inference gateway. */
  tokenOf(service: string): string;
  /** Makes a tiny model, promotes it and waits for `model.stored`. */
  storeModel(
    name: string,
    seed: number,
    contextLength?: number,
    output?: 'random' | 'endless',
  ): Promise<StoredModel>;
  /** Every event on the stream so far, verified. */
  allEvents(): Promise<CloudEvent[]>;
  /** Writes the policy with this `inference` section and reloads it. */
  setInferencePolicy(section: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function startInferenceFixture(
  inferencePolicy: Record<string, unknown> = {},
): Promise<InferenceFixture> {
  const app = await startTestAppliance();
  const dir = await mkdtemp(join(tmpdir(), 'secai-inference-int-'));
  const policyDir = join(dir, 'policy');
  await cp(DEFAULT_POLICY_DIR, policyDir, { recursive: true });
  const policySide = await app.client('policy-engine');
  const policy = new PolicyHost(new PolicyEngine(), policySide.store, policyDir, log);
  const setInferencePolicy = async (section: Record<string, unknown>) => {
    const file = join(policyDir, 'policy.yaml');
    const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    doc.inference = { ...(doc.inference as object), threads: 1, ...section };
    await writeFile(file, stringify(doc));
    const loaded = await policy.reload('reload');
    if (!loaded.ok) throw new Error(`policy refused: ${JSON.stringify(loaded)}`);
  };
  await setInferencePolicy(inferencePolicy);
  const registrySide = await app.client('registry');
  const registry = await startRegistry(registrySide, { stateDir: dir, verifyEveryMs: 0, log });
  const quarantine: ServiceClient = await app.client('quarantine');
  const inferenceSide = await app.client('inference');
  const inference = await startInference(inferenceSide, { stateDir: dir, log, sweepEveryMs: 0 });
  const address = await inference.http.listen({ host: '127.0.0.1', port: 0 });

  const storeModel = async (
    name: string,
    seed: number,
    contextLength = 4096,
    output: 'random' | 'endless' = 'random',
  ) => {
    const staging = join(dir, `${name}-${seed}.gguf`);
    await writeTinyLlamaGguf(staging, { seed, contextLength, output });
    const bytes = await readFile(staging);
    const hex = sha(bytes);
    const artifacts = join(dir, 'quarantine', 'artifacts', hex);
    await mkdir(artifacts, { recursive: true });
    await writeFile(join(artifacts, 'model.gguf'), bytes, { mode: 0o444 });
    await chmod(artifacts, 0o555);
    const data: EventData<'model.promoted'> = {
      decisionId: `decision-${hex.slice(0, 8)}`,
      name,
      fileName: 'model.gguf',
      format: 'gguf',
      digest: `sha256:${hex}`,
      sizeBytes: bytes.length,
      policyDigest: `sha256:${'00'.repeat(32)}`,
    };
    await quarantine.store.append([{ type: 'model.promoted', aggregateId: hex, data }], {
      expectedSequence: 'any',
    });
    await waitFor(
      () =>
        Object.values(inference.manifest.runner.document.models).some(
          (m) => m.digest === data.digest,
        ),
      30_000,
      `${name} in the inference manifest`,
    );
    const entry = inference.manifest.runner.document.models[hex]!;
    return {
      name,
      hex,
      digest: data.digest,
      path: join(dir, 'registry', 'store', entry.storePath),
      bytes,
    };
  };

  return {
    app,
    dir,
    registry,
    inference,
    policy,
    baseURL: `${address}/v1`,
    tokenOf: (service) =>
      issueBearerToken(app.pki.signerFor(service), { audience: 'inference', now: new Date() }),
    storeModel,
    setInferencePolicy,
    async allEvents() {
      const { admin } = app;
      const info = await admin.jsm.streams.info(admin.store.stream);
      const events: CloudEvent[] = [];
      for await (const entry of readHistory(admin.js, admin.jsm, admin.store.stream, {
        fromSeq: 1,
        toSeq: info.state.last_seq,
      }))
        events.push(
          verifyEnvelope(entry.bytes, admin.store.trust, {
            natsSubject: entry.subject,
            streamSeq: entry.seq,
          }).event,
        );
      return events;
    },
    async stop() {
      await inference.http.close().catch(() => undefined);
      await inference.stop().catch(() => undefined);
      await registry.stop().catch(() => undefined);
      await app.cleanup();
      await removeTree(dir).catch(() => undefined);
    },
  };
}

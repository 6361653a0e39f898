import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { progressSubject, type CloudEvent, type EventData } from '@secai/contracts';
import { sendCommand, type Subscription } from '@secai/streams';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { startQuarantine, type QuarantineService } from '../src/index.js';
import { SMALL_TENSORS, buildSafetensors, makeKeyPair, signModel } from '../src/testing/index.js';
import { startPolicyEngineSide, type PolicyEngineSide } from './policyEngineSide.js';

// Issue 11 §5 end to end: a model signed with a pinned ECDSA P-384 key (SHA-384, as OMS signs)
// is promoted with a signature required, and one whose P-384 signature was made with SHA-256 is
// rejected at provenance. Real nats-server, the real policy engine, every stage sandboxed.
const log = pino({ level: 'silent' });
const p384 = makeKeyPair('P-384');
let app: TestAppliance;
let cli: ServiceClient;
let quarantineSide: ServiceClient;
let engineSide: PolicyEngineSide;
let service: QuarantineService;
let dir: string;
let sources: string;

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-provenance-promotion-'));
  sources = join(dir, 'sources');
  await mkdir(sources);
  engineSide = await startPolicyEngineSide(app, dir, log);
  // Signatures required, from the pinned P-384 key only.
  const file = join(dir, 'policy', 'policy.yaml');
  const policy = parse(await readFile(file, 'utf8')) as Record<string, Record<string, unknown>>;
  policy.models!.require_signature = true;
  policy.models!.trusted_signers = ['p384-release'];
  policy.quarantine!.provenance_keys = [{ id: 'p384-release', public_key_pem: p384.publicKeyPem }];
  await writeFile(file, stringify(policy));
  expect((await engineSide.host.reload('api')).ok).toBe(true);
  quarantineSide = await app.client('quarantine');
  cli = await app.client('cli');
  await chmod(dir, 0o700);
  service = await startQuarantine(quarantineSide, {
    config: {
      stateDir: dir,
      quarantineDir: join(dir, 'quarantine'),
      inboxDir: join(dir, 'quarantine', 'inbox'),
      policyDir: join(dir, 'policy'),
      inboxPollMs: 100,
      behaviorThreads: 1,
    },
    log,
  });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await engineSide?.stop();
  await app?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function events(artifact: string): Promise<CloudEvent[]> {
  return (await quarantineSide.store.load('artifact', artifact)).events.map((e) => e.event);
}

async function outcome(artifact: string): Promise<CloudEvent[]> {
  await waitFor(
    async () =>
      (await events(artifact)).some(
        (e) => e.type === 'model.promoted' || e.type === 'model.rejected',
      ),
    120_000,
    `the outcome of ${artifact}`,
  );
  return events(artifact);
}

/** `secai model import <path> --signature <bundle>` through the signed command. */
async function importSigned(path: string, signaturePath: string): Promise<string> {
  const requestId = crypto.randomUUID();
  const messages: Record<string, unknown>[] = [];
  const sub: Subscription = cli.nc.subscribe(progressSubject('quarantine', requestId), {
    callback: (_err, msg) => {
      messages.push(msg.json<Record<string, unknown>>());
    },
  });
  try {
    const reply = await sendCommand(cli.nc, {
      command: 'quarantine.import',
      signer: cli.store.signer,
      trust: cli.store.trust,
      requestId,
      request: { path, signaturePath },
    });
    if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
    const final = () => messages.find((m) => m.phase === 'acquired' || m.phase === 'refused');
    await waitFor(() => final() !== undefined, 60_000, 'the copy');
    if (final()!.phase === 'refused') throw new Error(String(final()!.code));
    return String(final()!.artifactId);
  } finally {
    sub.unsubscribe();
  }
}

/** A safetensors file and its OMS bundle, signed with the pinned P-384 key. */
async function signedWeights(name: string, hash?: 'sha256'): Promise<[string, string]> {
  const path = join(sources, `${name}.safetensors`);
  // The name in the metadata makes each model new bytes.
  await writeFile(path, buildSafetensors(SMALL_TENSORS, { format: 'pt', name }));
  const bundlePath = `${path}.sig`;
  await signModel({
    artifactPath: path,
    kind: 'file',
    privateKeyPem: p384.privateKeyPem,
    bundlePath,
    ...(hash !== undefined ? { hash } : {}),
  });
  return [path, bundlePath];
}

function provenanceOf(history: CloudEvent[]) {
  const event = history.find(
    (e) =>
      e.type.startsWith('quarantine.stage.') &&
      (e.data as { stage?: string }).stage === 'provenance',
  );
  return event as CloudEvent & { data: EventData<'quarantine.stage.passed'> };
}

describe('a model signed with a pinned ECDSA P-384 key', () => {
  it('passes provenance as signature-verified by that key and is promoted', async () => {
    const [path, bundle] = await signedWeights('p384-sha384');
    const history = await outcome(await importSigned(path, bundle));
    const stage = provenanceOf(history);
    expect(stage.type).toBe('quarantine.stage.passed');
    expect(stage.data).toMatchObject({ reasonCode: 'signature_ok' });
    expect(JSON.stringify(stage.data)).toContain('p384-release');
    expect(history.at(-1)!.type).toBe('model.promoted');
  }, 150_000);

  it('is rejected at provenance when the P-384 signature was made with SHA-256', async () => {
    const [path, bundle] = await signedWeights('p384-sha256', 'sha256');
    const history = await outcome(await importSigned(path, bundle));
    const stage = provenanceOf(history);
    expect(stage.type).toBe('quarantine.stage.failed');
    expect(stage.data).toMatchObject({ reasonCode: 'signature_invalid' });
    expect(history.at(-1)!.type).toBe('model.rejected');
  }, 150_000);
});

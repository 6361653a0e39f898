import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { progressSubject, type CloudEvent } from '@secai/contracts';
import { sendCommand } from '@secai/streams';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { startRegistry, type RunningRegistry } from '@secai/registry';
import { startQuarantine, type QuarantineService } from '../src/index.js';
import { startPolicyEngineSide, type PolicyEngineSide } from './policyEngineSide.js';
import { SMALL_TENSORS, buildSafetensors } from '@secai/formats/testing';

// Issue 11 §3: "a model promoted once cannot be imported again after it has been removed
// (already_promoted)". The whole loop on a real nats-server with the real policy engine, the
// real registry and the quarantine sharing one state dir: import, promote, store, remove with
// the registry's command as the cli identity, import the same bytes again.
const log = pino({ level: 'silent' });
let app: TestAppliance;
let cli: ServiceClient;
let dir: string;
let sources: string;
let engineSide: PolicyEngineSide;
let registry: RunningRegistry;
let quarantineSide: ServiceClient;
let registrySide: ServiceClient;
let service: QuarantineService;

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-reimport-int-'));
  sources = join(dir, 'sources');
  await mkdir(sources, { recursive: true });
  engineSide = await startPolicyEngineSide(app, dir, log);
  quarantineSide = await app.client('quarantine');
  registrySide = await app.client('registry');
  cli = await app.client('cli');
  await chmod(dir, 0o700);
  registry = await startRegistry(registrySide, { stateDir: dir, verifyEveryMs: 0, log });
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
  await registry?.stop();
  await engineSide?.stop();
  await app?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function history(type: 'artifact' | 'model', hex: string): Promise<CloudEvent[]> {
  return (await quarantineSide.store.load(type, hex)).events.map((e) => e.event);
}

async function waitForEvent(type: 'artifact' | 'model', hex: string, eventType: string, n = 1) {
  await waitFor(
    async () => (await history(type, hex)).filter((e) => e.type === eventType).length >= n,
    120_000,
    `${n} × ${eventType} on ${type}/${hex}`,
  );
}

/** `secai model import` through the signed command: the artifact id, or the refusal as an error. */
async function importPath(path: string): Promise<string> {
  const requestId = crypto.randomUUID();
  const messages: Record<string, unknown>[] = [];
  const sub = cli.nc.subscribe(progressSubject('quarantine', requestId), {
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
      request: { path },
    });
    if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
    await waitFor(
      () => messages.some((m) => m.phase === 'acquired' || m.phase === 'refused'),
      60_000,
      'the copy',
    );
    const last = messages.find((m) => m.phase === 'acquired' || m.phase === 'refused')!;
    if (last.phase === 'refused') throw new Error(`${String(last.code)}: ${String(last.message)}`);
    return String(last.artifactId);
  } finally {
    sub.unsubscribe();
  }
}

async function removeFromRegistry(hex: string): Promise<void> {
  const reply = await sendCommand(cli.nc, {
    command: 'registry.remove',
    signer: cli.store.signer,
    trust: cli.store.trust,
    requestId: crypto.randomUUID(),
    request: { model: hex, reason: 'replaced by a newer export' },
  });
  expect(reply).toEqual({ ok: true, removed: true });
}

describe('importing the same bytes again', () => {
  let path: string;
  let hex: string;

  beforeAll(async () => {
    path = join(sources, 'weights.safetensors');
    await writeFile(path, buildSafetensors(SMALL_TENSORS, { format: 'pt' }));
    hex = await importPath(path);
    await waitForEvent('artifact', hex, 'model.promoted');
    await waitForEvent('model', hex, 'model.stored');
  }, 180_000);

  it('is refused while the registry holds the model', async () => {
    await expect(importPath(path)).rejects.toThrow(/^already_promoted/);
  });

  it('runs again once the registry removed the model, and can be promoted again', async () => {
    await removeFromRegistry(hex);
    await waitForEvent('model', hex, 'model.removed');
    expect(await importPath(path)).toBe(hex);
    await waitForEvent('artifact', hex, 'model.promoted', 2);
    const events = await history('artifact', hex);
    expect(events.filter((e) => e.type === 'quarantine.started').map((e) => e.data)).toEqual([
      expect.objectContaining({ attempt: 1 }),
      expect.objectContaining({ attempt: 2 }),
    ]);
    // The registry takes the second promotion into its store again.
    await waitForEvent('model', hex, 'model.stored', 2);
  }, 180_000);

  it('is refused again once the second promotion is stored', async () => {
    await expect(importPath(path)).rejects.toThrow(/^already_promoted/);
  });

  it('runs again after the model was contained and then removed (the operator deleted it)', async () => {
    const contained = await sendCommand(cli.nc, {
      command: 'registry.quarantine_model',
      signer: cli.store.signer,
      trust: cli.store.trust,
      requestId: crypto.randomUUID(),
      request: { model: hex, reason: 'suspected tampering' },
    });
    expect(contained).toMatchObject({ ok: true, alreadyContained: false });
    await waitForEvent('model', hex, 'model.contained');
    // Contained is still held by the registry: the same bytes are not taken in again.
    await expect(importPath(path)).rejects.toThrow(/^already_promoted/);
    await removeFromRegistry(hex);
    await waitForEvent('model', hex, 'model.removed', 2);
    expect(await importPath(path)).toBe(hex);
    await waitForEvent('artifact', hex, 'model.promoted', 3);
    await waitForEvent('model', hex, 'model.stored', 3);
  }, 180_000);
});

import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { progressSubject, type CloudEvent, type EventData } from '@secai/contracts';
import { sendCommand } from '@secai/streams';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { SMALL_TENSORS, buildSafetensors } from '@secai/formats/testing';
import { startQuarantine, type QuarantineConfig, type QuarantineService } from '../src/index.js';
import { startPolicyEngineSide, type PolicyEngineSide } from './policyEngineSide.js';

// Issue 11 §6 through the running service: an inbox drop is moved into custody by rename (the
// artifact is the dropped inode, the inbox entry is gone) and its run goes through the sandboxed
// stages on those bytes; a user's import is copied and the user's file stays.
const log = pino({ level: 'silent' });
let app: TestAppliance;
let quarantineSide: ServiceClient;
let cli: ServiceClient;
let dir: string;
let config: QuarantineConfig;
let engineSide: PolicyEngineSide;
let service: QuarantineService;

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-custody-int-'));
  engineSide = await startPolicyEngineSide(app, dir, log);
  quarantineSide = await app.client('quarantine');
  cli = await app.client('cli');
  config = {
    stateDir: dir,
    quarantineDir: join(dir, 'quarantine'),
    inboxDir: join(dir, 'quarantine', 'inbox'),
    policyDir: join(dir, 'policy'),
    inboxPollMs: 100,
    behaviorThreads: 1,
  };
  await chmod(dir, 0o700);
  service = await startQuarantine(quarantineSide, { config, log });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await engineSide?.stop();
  await app?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function events(artifact: string): Promise<CloudEvent[]> {
  return (await quarantineSide.store.load('artifact', artifact)).events.map((e) => e.event);
}

async function until(artifact: string, type: string): Promise<CloudEvent[]> {
  await waitFor(
    async () => (await events(artifact)).some((e) => e.type === type),
    90_000,
    `${type} of ${artifact}`,
  );
  return events(artifact);
}

describe('custody of an inbox drop', () => {
  it('is the dropped inode, moved by rename, and its run passes the sandboxed stages', async () => {
    const bytes = buildSafetensors(SMALL_TENSORS, { custody: 'rename' });
    const hex = sha(bytes);
    // Written beside the inbox and moved in, as a finished download would be.
    const staged = join(dir, 'dropped.safetensors');
    await writeFile(staged, bytes);
    const ino = (await stat(staged)).ino;
    await rename(staged, join(config.inboxDir, 'dropped.safetensors'));

    const acquired = (await until(hex, 'model.acquired')).find((e) => e.type === 'model.acquired');
    expect((acquired!.data as EventData<'model.acquired'>).source.via).toBe('inbox');
    const custody = join(config.quarantineDir, 'artifacts', hex, 'dropped.safetensors');
    const st = await stat(custody);
    expect(st.ino).toBe(ino);
    expect(st.mode & 0o777).toBe(0o444);
    await expect(stat(join(config.inboxDir, 'dropped.safetensors'))).rejects.toThrow();

    const history = await until(hex, 'model.promoted');
    const stages = history.filter((e) => e.type === 'quarantine.stage.passed');
    expect(stages.map((e) => (e.data as { stage: string }).stage)).toContain('static_scan');
  }, 120_000);

  it("copies a user's import and leaves the user's file", async () => {
    const bytes = buildSafetensors(SMALL_TENSORS, { custody: 'copy' });
    const sources = join(dir, 'sources');
    await mkdir(sources, { recursive: true });
    const path = join(sources, 'kept.safetensors');
    await writeFile(path, bytes);
    const ino = (await stat(path)).ino;
    const requestId = crypto.randomUUID();
    const phases: string[] = [];
    const sub = cli.nc.subscribe(progressSubject('quarantine', requestId), {
      callback: (_err, msg) => {
        phases.push(String(msg.json<{ phase?: unknown }>().phase));
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
      expect(reply.ok).toBe(true);
      await waitFor(() => phases.includes('acquired'), 60_000, 'the copy');
    } finally {
      sub.unsubscribe();
    }
    const custody = join(config.quarantineDir, 'artifacts', sha(bytes), 'kept.safetensors');
    await waitFor(
      () =>
        stat(custody).then(
          () => true,
          () => false,
        ),
      10_000,
      'the snapshot',
    );
    expect((await stat(custody)).ino).not.toBe(ino);
    expect(await readFile(path)).toEqual(Buffer.from(bytes));
  }, 120_000);
});

import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { foldEvents, progressSubject, type CloudEvent, type EventData } from '@secai/contracts';
import { DEFAULT_POLICY_DIR, loadPolicyDir } from '@secai/policy-engine';
import { sendCommand, type Subscription } from '@secai/streams';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { SMALL_TENSORS, buildSafetensors } from '@secai/formats/testing';
import {
  loadPolicyBundle,
  runDecider,
  runStagesInPlanOrder,
  sandboxedStages,
  startQuarantine,
  type PolicyBundle,
  type QuarantineService,
  type SandboxedStage,
  type StageContext,
  type StageExecutor,
  type StageOutcome,
} from '../src/index.js';
import { startPolicyEngineSide, type PolicyEngineSide } from './policyEngineSide.js';

// The read-only stages run beside each other (issue 11 §6), with their real sandboxed workers.
// Completion order is forced by holding each outcome back until another stage's was handed over
// (never by sleeping): the static scan's outcome comes first, the format gate's last. With
// stages run one after another that order could not happen, and these tests would not finish.
const READ_ONLY: SandboxedStage[] = ['format_gate', 'hash_pin', 'provenance', 'static_scan'];
const log = pino({ level: 'silent' });
let dir: string;
let bundle: PolicyBundle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-stages-ahead-'));
  await chmod(dir, 0o700);
  const shipped = await loadPolicyDir(DEFAULT_POLICY_DIR);
  if (!shipped.ok) throw new Error('the shipped policy does not load');
  const loaded = await loadPolicyBundle(
    { digest: shipped.snapshot.digest, documents: shipped.snapshot.canonicalDocuments },
    DEFAULT_POLICY_DIR,
  );
  if (!loaded.ok) throw new Error(loaded.problem);
  bundle = loaded.bundle;
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The real executor, each outcome handed over only after the outcome of the stage named before it
 * in `order` was (stages not named are handed over as they finish). `handed` lists what was handed
 * over, in order; `running` counts workers not finished yet.
 */
function inOrder(
  order: SandboxedStage[],
  hold: Partial<Record<SandboxedStage, Promise<void>>> = {},
) {
  const handed: string[] = [];
  const released = new Map(
    order.map((s) => {
      let release!: () => void;
      const p = new Promise<void>((r) => (release = r));
      return [s, { p, release }] as const;
    }),
  );
  let running = 0;
  const execute: StageExecutor = async (stage, ctx) => {
    running++;
    let outcome: StageOutcome;
    try {
      outcome = await sandboxedStages(stage, ctx);
      await hold[stage];
    } finally {
      running--;
    }
    const before = order[order.indexOf(stage) - 1];
    if (before !== undefined) await released.get(before)!.p;
    handed.push(stage);
    released.get(stage)?.release();
    return outcome;
  };
  return { execute, handed, running: () => running };
}

/** `first` was handed over, and before `then` (other stages may come anywhere). */
function expectHandedBefore(handed: string[], first: SandboxedStage, then: SandboxedStage): void {
  expect(handed).toContain(first);
  expect(handed).toContain(then);
  expect(handed.indexOf(first)).toBeLessThan(handed.indexOf(then));
}

async function artifact(name: string, bytes: Uint8Array): Promise<string> {
  const sub = await mkdtemp(join(dir, 'a-'));
  await chmod(sub, 0o755); // the sandboxed worker runs as nobody
  const path = join(sub, name);
  await writeFile(path, bytes);
  await chmod(path, 0o444);
  return path;
}

function contextFor(path: string, name: string, sizeBytes: number): StageContext {
  const run = foldEvents(runDecider, [
    {
      type: 'model.acquired',
      data: {
        kind: 'file',
        name,
        sizeBytes,
        digest: `sha256:${'ab'.repeat(32)}`,
        source: { via: 'import' },
      },
      meta: { id: 'acquired', time: new Date().toISOString(), correlationId: 'test' },
    },
  ]).run!;
  return { run, artifact: { path, kind: 'file', signaturePath: null }, bundle, behaviorThreads: 1 };
}

describe('runStagesInPlanOrder with the real workers', () => {
  it('takes the outcomes in plan order although they finished in reverse', async () => {
    const bytes = buildSafetensors(SMALL_TENSORS, { format: 'pt' });
    const path = await artifact('weights.safetensors', bytes);
    const order = inOrder([...READ_ONLY].reverse());
    const recorded = await runStagesInPlanOrder(
      READ_ONLY,
      contextFor(path, 'weights.safetensors', bytes.length),
      order.execute,
    );
    expect(order.handed).toEqual(['static_scan', 'provenance', 'hash_pin', 'format_gate']);
    expect(recorded.map((r) => [r.stage, r.outcome.passed])).toEqual(
      READ_ONLY.map((s) => [s, true]),
    );
    expect(recorded[0]!.outcome.result.format).toBe('safetensors');
  }, 60_000);

  it('fails with the format gate’s reason although the static scan finished first; later outcomes are discarded once their workers ended', async () => {
    const path = await artifact('junk.safetensors', Buffer.from('not a model at all\n'.repeat(64)));
    const events: string[] = [];
    // The provenance worker is still running when the gate's failure is handed over.
    let releaseProvenance!: () => void;
    const provenanceHeld = new Promise<void>((r) => (releaseProvenance = r));
    const order = inOrder(['static_scan', 'format_gate'], { provenance: provenanceHeld });
    const execute: StageExecutor = async (stage, ctx) => {
      const outcome = await order.execute(stage, ctx);
      if (stage === 'format_gate')
        setImmediate(() => {
          events.push('provenance released');
          releaseProvenance();
        });
      return outcome;
    };
    const recorded = await runStagesInPlanOrder(
      READ_ONLY,
      contextFor(path, 'junk.safetensors', 1216),
      execute,
    );
    events.push('returned');
    expectHandedBefore(order.handed, 'static_scan', 'format_gate');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      stage: 'format_gate',
      outcome: { passed: false, reasonCode: 'unknown_format' },
    });
    // It returned only after the discarded workers ended.
    expect(events).toEqual(['provenance released', 'returned']);
    expect(order.running()).toBe(0);
  }, 60_000);
});

describe('the coordinator records the stages in plan order', () => {
  let app: TestAppliance;
  let quarantineSide: ServiceClient;
  let cli: ServiceClient;
  let engineSide: PolicyEngineSide;
  let service: QuarantineService;
  let order = inOrder([]);
  let sources: string;

  beforeAll(async () => {
    app = await startTestAppliance();
    const state = join(dir, 'state');
    await mkdir(state, { mode: 0o700 });
    sources = join(dir, 'sources');
    await mkdir(sources);
    engineSide = await startPolicyEngineSide(app, state, log);
    quarantineSide = await app.client('quarantine');
    cli = await app.client('cli');
    service = await startQuarantine(quarantineSide, {
      config: {
        stateDir: state,
        quarantineDir: join(state, 'quarantine'),
        inboxDir: join(state, 'quarantine', 'inbox'),
        policyDir: join(state, 'policy'),
        inboxPollMs: 100,
        behaviorThreads: 1,
      },
      log,
      executeStage: (stage, ctx) => order.execute(stage, ctx),
    });
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    await engineSide?.stop();
    await app?.cleanup();
  });

  const events = async (artifactId: string): Promise<CloudEvent[]> =>
    (await quarantineSide.store.load('artifact', artifactId)).events.map((e) => e.event);

  async function outcome(artifactId: string, last: string): Promise<CloudEvent[]> {
    await waitFor(
      async () => (await events(artifactId)).some((e) => e.type === last),
      60_000,
      `${last} of ${artifactId}`,
    );
    return events(artifactId);
  }

  async function importFile(name: string, bytes: Uint8Array): Promise<string> {
    const path = join(sources, name);
    await writeFile(path, bytes);
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
        request: { path },
      });
      if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
      await waitFor(() => messages.some((m) => m.phase === 'acquired'), 60_000, 'the copy');
      return String(messages.find((m) => m.phase === 'acquired')!.artifactId);
    } finally {
      sub.unsubscribe();
    }
  }

  const stageEvents = (history: CloudEvent[]) =>
    history
      .filter((e) => e.type.startsWith('quarantine.stage.'))
      .map((e) => [e.type, (e.data as EventData<'quarantine.stage.passed'>).stage]);

  it('a safetensors file whose stages finished in reverse: events in plan order, then completion', async () => {
    order = inOrder([...READ_ONLY].reverse());
    const id = await importFile('ahead.safetensors', buildSafetensors(SMALL_TENSORS, { n: '1' }));
    const history = await outcome(id, 'quarantine.completed');
    expect(order.handed).toEqual(['static_scan', 'provenance', 'hash_pin', 'format_gate']);
    expect(stageEvents(history)).toEqual(
      ['source_policy', ...READ_ONLY].map((s) => ['quarantine.stage.passed', s]),
    );
  }, 90_000);

  it('a file the format gate refuses: rejected with the gate’s reason, no later stage recorded', async () => {
    order = inOrder(['static_scan', 'format_gate']);
    const id = await importFile('junk.safetensors', Buffer.from('not a model at all\n'.repeat(64)));
    const history = await outcome(id, 'model.rejected');
    expectHandedBefore(order.handed, 'static_scan', 'format_gate');
    expect(stageEvents(history)).toEqual([
      ['quarantine.stage.passed', 'source_policy'],
      ['quarantine.stage.failed', 'format_gate'],
    ]);
    expect(history.at(-1)!.data).toMatchObject({
      stage: 'format_gate',
      reasonCode: 'unknown_format',
    });
    await service.coordinator.idle();
    expect(order.running()).toBe(0);
  }, 90_000);
});

import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  checkContainmentTarget,
  startTestAppliance,
  waitFor,
  type TestAppliance,
} from '@secai/streams/testing';
import { removeTree, startRegistry, type RunningRegistry } from '../src/index.js';

// The registry's side of `registry.quarantine_model`, proven with the containment conformance
// kit (`@secai/streams/testing`): the same checks every containment target passes.

const log = pino({ level: 'silent' });
let app: TestAppliance;
let stateDir: string;
let running: RunningRegistry;

beforeAll(async () => {
  app = await startTestAppliance();
  stateDir = await mkdtemp(join(tmpdir(), 'secai-registry-conformance-'));
  running = await startRegistry(await app.client('registry'), { stateDir, verifyEveryMs: 0, log });
});

afterAll(async () => {
  await running?.stop();
  await app?.cleanup();
  if (stateDir) await removeTree(stateDir);
});

/** A model promoted by the quarantine identity and stored by the registry. */
async function storedModel(): Promise<string> {
  const content = randomBytes(32 * 1024);
  content.write('GGUF', 0);
  const hex = createHash('sha256').update(content).digest('hex');
  const dir = join(stateDir, 'quarantine', 'artifacts', hex);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tiny.gguf'), content, { mode: 0o444 });
  await chmod(dir, 0o555);
  const quarantine = await app.client('quarantine');
  await quarantine.store.append(
    [
      {
        type: 'model.promoted',
        aggregateId: hex,
        data: {
          decisionId: `decision-${hex.slice(0, 8)}`,
          name: 'Conformance Model',
          fileName: 'tiny.gguf',
          format: 'gguf',
          digest: `sha256:${hex}`,
          sizeBytes: content.length,
          policyDigest: `sha256:${'00'.repeat(32)}`,
        },
      },
    ],
    { expectedSequence: 'any' },
  );
  await waitFor(
    async () =>
      (await app.admin.store.load('model', hex)).events.some(
        (e) => e.event.type === 'model.stored',
      ),
    15_000,
    'model.stored',
  );
  return hex;
}

describe('registry.quarantine_model conformance', () => {
  it('passes every check of the containment kit', async () => {
    const hex = await storedModel();
    const report = await checkContainmentTarget({
      app,
      command: 'registry.quarantine_model',
      request: { model: hex, reason: 'conformance', incidentId: 'INC-conformance-1' },
      alreadyDone: (reply) => reply.alreadyContained,
      confirmingEvent: { type: 'model.contained', aggregate: `model/${hex}` },
    });
    expect(report.failures).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual([
      'reply_shape',
      'confirming_event',
      'idempotent',
      'no_second_event',
      'bus_refuses_unauthorised',
      'handler_refuses_unauthorised',
      'rejection_recorded',
    ]);
    expect(running.manifest.runner.document.models[hex]?.status).toBe('contained');
  });

  it('the kit fails a target that does not confirm (a model it does not know)', async () => {
    const report = await checkContainmentTarget({
      app,
      command: 'registry.quarantine_model',
      request: { model: 'cd'.repeat(32), reason: 'conformance' },
      alreadyDone: (reply) => reply.alreadyContained,
      confirmingEvent: { type: 'model.contained', aggregate: `model/${'cd'.repeat(32)}` },
      timeoutMs: 1000,
    });
    expect(report.ok).toBe(false);
    expect(report.failures.map((c) => c.name)).toEqual(
      expect.arrayContaining(['reply_shape', 'confirming_event', 'idempotent']),
    );
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { pino } from 'pino';
import { startTestAppliance, type ServiceClient, type TestAppliance } from '@secai/streams/testing';
import {
  missingTpmTools,
  missingToolsMessage,
  reasonCodes,
  startAttestor,
  startSwtpm,
  type Enrolment,
  type RunningAttestor,
  type Swtpm,
} from '../src/index.js';

// Issue 9 §1: on a concurrency conflict the attestor used to append the same event again at the
// new sequence, without deciding again, so the stored result could rest on a state the aggregate
// had already left. Here a second writer (same service identity, its own connection and store)
// records another enrolment on the host's aggregate between two runs; the attestor's cached
// state is then stale, its first append conflicts, and the event it finally stores must be the
// decision made on the reloaded aggregate. Real parts only: nats-server, swtpm, tpm2-tools.

const log = pino({ level: 'silent' });
const HOST = 'issue9-host';
const missing = await missingTpmTools();

let app: TestAppliance;
let swtpm: Swtpm | null = null;
let stateDir: string;
let running: RunningAttestor | null = null;

beforeAll(async () => {
  app = await startTestAppliance();
  stateDir = await mkdtemp(join(tmpdir(), 'secai-attestor-issue9-'));
  if (missing.length === 0) swtpm = await startSwtpm();
});

afterAll(async () => {
  await running?.stop();
  await swtpm?.stop();
  await app?.cleanup();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

function needTpm(ctx: TestContext): void {
  if (missing.length > 0 || !swtpm) ctx.skip(missingToolsMessage(missing));
}

describe('issue 9: the attestor decides again after a concurrency conflict', () => {
  it('stores the decision made on the reloaded aggregate, not the stale one', async (ctx) => {
    needTpm(ctx);
    const conn: ServiceClient = await app.client('runtime-attestor');
    running = await startAttestor(conn, {
      stateDir,
      policyDir: join(stateDir, 'policy'),
      tcti: swtpm!.tcti,
      intervalMs: 0,
      log,
      host: HOST,
      secureBootPath: join(stateDir, 'no-efivar'),
      hypervisor: () => Promise.resolve(false),
    });
    expect(running.initial.outcome).toBe('verified');
    const ours = running.attestor.profile!.enrolment;

    // The other writer: a baseline whose PCR 7 differs from what this TPM quotes.
    const other = await app.client('runtime-attestor');
    const moved = 'ab'.repeat(32);
    const replaced: Enrolment = {
      ...ours,
      pcrBaseline: ours.pcrBaseline.map((p) => (p.index === 7 ? { ...p, value: moved } : p)),
    };
    const { lastSequence } = await other.store.load('attestation', HOST);
    await other.store.append(
      [{ type: 'attestation.enrolled', aggregateId: HOST, data: replaced }],
      { expectedSequence: lastSequence },
    );

    const result = await running.attestor.attest({ requestedBy: 'cli' });

    // Decided on the stale state, the run would be `verified` against the old baseline.
    const reasons = result.data.reasons ?? [];
    expect(result.outcome).toBe('failed');
    expect(reasonCodes(reasons)).toEqual(['pcr_mismatch']);
    expect(reasons[0]).toMatch(
      new RegExp(`^pcr_mismatch: PCR 7 \\(sha256\\) expected 0x${moved} `),
    );
    const history = (await app.admin.store.load('attestation', HOST)).events;
    expect(history.map((e) => e.event.type)).toEqual([
      'attestation.enrolled',
      'attestation.verified',
      'attestation.enrolled',
      'attestation.failed',
    ]);
    expect(history[3]!.event.id).toBe(result.eventId);
    expect(history[3]!.event.data).toMatchObject({
      checks: { quoteVerified: true, measurementsVerified: false },
      policySatisfied: false,
    });
  });
});

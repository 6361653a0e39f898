import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { EventData } from '@secai/contracts';
import { startTestAppliance, waitFor, type TestAppliance } from '@secai/streams/testing';
import {
  missingTpmTools,
  missingToolsMessage,
  startAttestor,
  startSwtpm,
  type RunningAttestor,
  type Swtpm,
} from '@secai/runtime-attestor';
import { startRecorder, type RunningRecorder } from '../src/index.js';

// Issue 9 §7, the first boot a user sees: a machine without a TPM runs in development mode, which
// the attestor records and the recorder does not turn into a critical incident; a host whose TPM
// was enrolled and that now runs without one is not development mode, whatever it says.
// Real parts: the runtime attestor (software mode, and swtpm), the recorder, nats-server.
const log = pino({ level: 'silent' });
const missing = await missingTpmTools();
let app: TestAppliance;
let dir: string;
let recorder: RunningRecorder | null = null;
const attestors: RunningAttestor[] = [];
let swtpm: Swtpm | null = null;

const startRecorderHere = async () =>
  startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'recorder-policy'),
    seal: { everyEvents: 1000, everyMs: 60_000 },
    log,
  });

const attest = async (
  name: string,
  options: { tcti: string; host: string },
): Promise<RunningAttestor> => {
  const stateDir = join(dir, name);
  const a = await startAttestor(await app.client('runtime-attestor'), {
    stateDir,
    policyDir: join(stateDir, 'policy'),
    tcti: options.tcti,
    intervalMs: 0,
    log,
    host: options.host,
    secureBootPath: join(dir, 'no-efivar'),
    hypervisor: () => Promise.resolve(false),
  });
  attestors.push(a);
  return a;
};

const incidentsAbout = (host: string) =>
  recorder!.book.all().filter(([, r]) => r.snapshot.context.subject === `attestation/${host}`);

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-devmode-'));
  recorder = await startRecorderHere();
}, 60_000);

afterAll(async () => {
  await recorder?.stop();
  for (const a of attestors) await a.stop();
  await swtpm?.stop();
  await app?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('development mode', () => {
  // First in the file: the bus must not have seen a TPM enrolment yet.
  it('a host without a TPM declares development mode once and opens no incident', async () => {
    const attestor = await attest('laptop', { tcti: 'none', host: 'dev-laptop' });
    expect(attestor.mode).toBe('software');
    // The shipped policy requires evaluation: the run fails policy, as it must (the gate is
    // closed), and says why.
    expect(attestor.initial.outcome).toBe('failed');
    expect(attestor.initial.data.reasons?.map((r) => r.split(':')[0])).toEqual([
      'software_mode',
      'mode_insufficient',
    ]);
    const events = (await app.admin.store.load('attestation', 'dev-laptop')).events;
    expect(events.map((e) => e.event.type)).toEqual([
      'attestation.enrolled',
      'attestation.development_mode.declared',
      'attestation.failed',
    ]);
    const declared = events[1]!.event.data as EventData<'attestation.development_mode.declared'>;
    expect(declared).toMatchObject({ host: 'dev-laptop', mode: 'software', require: 'evaluation' });
    expect(declared.detail).toContain('development mode');

    // The recorder has handled the failed run: no incident came of it.
    await recorder!.consumer.caughtUp(attestor.initial.seq, 30_000);
    expect(incidentsAbout('dev-laptop')).toEqual([]);
    expect(recorder!.recorder.attestations.declared.has('dev-laptop')).toBe(true);
  });

  it('a host enrolled with a TPM that falls back to software opens a critical incident', async (ctx) => {
    if (missing.length > 0) ctx.skip(missingToolsMessage(missing));
    swtpm = await startSwtpm();
    const tpm = await attest('tpm-host', { tcti: swtpm.tcti, host: 'tpm-host' });
    expect(tpm.mode).toBe('evaluation');
    expect(tpm.initial.outcome).toBe('verified');
    await recorder!.consumer.caughtUp(tpm.initial.seq, 30_000);
    expect(recorder!.recorder.attestations.tpmEnrolment).toMatchObject({
      host: 'tpm-host',
      mode: 'evaluation',
    });
    await tpm.stop();

    // The recorder restarts (its ledger is refilled from the stream) while the attacker makes
    // the TPM disappear and hides the enrolment from the attestor: no profile, another host
    // name (a new aggregate), SECAI_TPM_TCTI=none. The attestor then sees a host that never
    // had a TPM and declares development mode; the history says otherwise.
    await recorder!.stop();
    recorder = null;
    const downgraded = await attest('tpm-host-without-profile', {
      tcti: 'none',
      host: 'renamed-host',
    });
    expect(downgraded.mode).toBe('software');
    const types = (await app.admin.store.load('attestation', 'renamed-host')).events.map(
      (e) => e.event.type,
    );
    expect(types).toContain('attestation.development_mode.declared');
    recorder = await startRecorderHere();
    expect(recorder.recorder.attestations.tpmEnrolment).toMatchObject({ host: 'tpm-host' });

    await waitFor(
      () => incidentsAbout('renamed-host').length > 0,
      30_000,
      'an incident about the downgraded host',
    );
    const [, record] = incidentsAbout('renamed-host')[0]!;
    const incident = record.snapshot.context;
    expect(incident).toMatchObject({ class: 'attestation_failure', severity: 'critical' });
    expect(incident.description).toContain('a TPM was enrolled on this appliance');
    expect(incident.causeEventIds).toContain(downgraded.initial.eventId);
  }, 90_000);

  it('the same host falling back to software is refused development mode by the attestor too', async (ctx) => {
    if (missing.length > 0) ctx.skip(missingToolsMessage(missing));
    // The profile is still there: the attestor knows its TPM enrolment, declares nothing, and
    // its run says mode_changed.
    const fallback = await attest('tpm-host', { tcti: 'none', host: 'tpm-host' });
    expect(fallback.mode).toBe('software');
    const events = (await app.admin.store.load('attestation', 'tpm-host')).events;
    expect(events.map((e) => e.event.type)).toEqual([
      'attestation.enrolled',
      'attestation.verified',
      'attestation.failed',
    ]);
    expect(fallback.initial.data.reasons?.map((r) => r.split(':')[0])).toContain('mode_changed');
    await waitFor(
      () => incidentsAbout('tpm-host').length > 0,
      30_000,
      'an incident about the TPM host',
    );
    const [, record] = incidentsAbout('tpm-host')[0]!;
    expect(record.snapshot.context).toMatchObject({
      class: 'attestation_failure',
      severity: 'critical',
    });
  }, 60_000);
});

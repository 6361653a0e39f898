import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { verifyEnvelope, type CloudEvent, type EventData } from '@secai/contracts';
import { readHistory, sendCommand } from '@secai/streams';
import {
  fakeContainmentTarget,
  startTestAppliance,
  waitFor,
  type FakeTarget,
  type TestAppliance,
} from '@secai/streams/testing';
import {
  missingTpmTools,
  missingToolsMessage,
  startAttestor,
  startSwtpm,
  type RunningAttestor,
  type Swtpm,
} from '@secai/runtime-attestor';
import { startRecorder, type RunningRecorder } from '../src/index.js';

// The enforcement chain across two real services: the runtime attestor quoting a real (software)
// TPM, and the incident recorder consuming its events. A PCR changed behind the appliance's back
// fails the next attestation, which opens a critical incident and asks for its containment.
const log = pino({ level: 'silent' });
const missing = await missingTpmTools();
let app: TestAppliance;
let dir: string;
let swtpm: Swtpm | null = null;
let attestor: RunningAttestor | null = null;
let recorder: RunningRecorder | null = null;
let agent: FakeTarget | null = null;

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-attest-incident-'));
  if (missing.length > 0) return;
  swtpm = await startSwtpm();
  attestor = await startAttestor(await app.client('runtime-attestor'), {
    stateDir: dir,
    policyDir: join(dir, 'policy'),
    tcti: swtpm.tcti,
    intervalMs: 0,
    log,
    host: 'chain-host',
    secureBootPath: join(dir, 'no-efivar'),
    hypervisor: () => Promise.resolve(false),
  });
  agent = fakeContainmentTarget(await app.client('agent'), 'agent.freeze', app.pki);
  recorder = await startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'policy'),
    seal: { everyEvents: 100, everyMs: 300 },
    log,
  });
}, 60_000);

afterAll(async () => {
  agent?.stop();
  await recorder?.stop();
  await attestor?.stop();
  await swtpm?.stop();
  await app?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function incidentEvents(): Promise<CloudEvent[]> {
  const out: CloudEvent[] = [];
  const { trust } = app.pki;
  for await (const e of readHistory(app.admin.js, app.admin.jsm, app.admin.store.stream, {
    filterSubject: 'secai.evt.incident.>',
  }))
    out.push(verifyEnvelope(e.bytes, trust).event);
  return out;
}

describe('a changed PCR, end to end', () => {
  it('fails attestation, opens a critical attestation_failure incident and requests containment', async (ctx) => {
    if (missing.length > 0) ctx.skip(missingToolsMessage(missing));
    const cli = await app.client('cli');
    const ask = () =>
      sendCommand(cli.nc, {
        command: 'runtime-attestor.attest',
        signer: app.pki.signerFor('cli'),
        trust: app.pki.trust,
        request: { reason: 'test' },
        timeoutMs: 20_000,
      });
    expect(await ask()).toMatchObject({ ok: true, outcome: 'verified' });
    expect(await incidentEvents()).toEqual([]);

    await swtpm!.extendPcr(7, 'cd'.repeat(32));
    const failed = await ask();
    expect(failed).toMatchObject({ ok: true, outcome: 'failed' });
    if (!failed.ok) return;

    let events: CloudEvent[] = [];
    await waitFor(
      async () => {
        events = await incidentEvents();
        // Settled: no airlock or vault runs here, so containment ends failed (fail closed).
        return events.some(
          (e) => e.type === 'incident.contained' || e.type === 'incident.containment.failed',
        );
      },
      30_000,
      'containment of the attestation incident',
    );
    expect(events.map((e) => e.type)).toContain('incident.containment.failed');
    const opened = events.find((e) => e.type === 'incident.opened')!;
    const o = opened.data as EventData<'incident.opened'>;
    expect(o).toMatchObject({ class: 'attestation_failure', severity: 'critical' });
    expect(o.causeEventIds).toContain(failed.eventId);
    const requested = events.find((e) => e.type === 'incident.containment.requested')!
      .data as EventData<'incident.containment.requested'>;
    expect(requested.actions.map((a) => a.action)).toEqual(
      expect.arrayContaining(['freeze_agent']),
    );
    // No airlock runs here: the action fails at once, saying why (issue 9 §7), not as a timeout.
    const failedOutcome = events.find((e) => e.type === 'incident.containment.failed')!
      .data as EventData<'incident.containment.failed'>;
    expect(failedOutcome.failed).toContainEqual({
      action: 'disable_airlock',
      target: 'airlock/state',
      detail: 'target_absent: no airlock service in this appliance',
    });
  }, 90_000);
});

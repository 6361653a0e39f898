import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { CommandRequest, EventData } from '@secai/contracts';
import {
  TYPE_HEADER,
  headers,
  serveCommand,
  type NatsConnection,
  type Subscription,
} from '@secai/streams';
import { startTestAppliance, waitFor, type TestAppliance } from '@secai/streams/testing';
import { stateOf, startRecorder, type RunningRecorder } from '../src/index.js';

// Issue 10 §1 against the whole recorder on a real nats-server 2.9.10: an attacker holding the
// `ui` identity's bus credentials floods its own subject with 1,000 malformed envelopes (the
// probe). A real attestation failure published behind the flood must still open its incident,
// `/health` must show the lag while the flood lasts, the flood itself must open a bus_abuse
// incident whose containment asks the appliance to revoke `ui`, and each refusal is recorded once.

const log = pino({ level: 'silent' });
const FLOOD = 1000;
const MAX_LAG = 50;
let app: TestAppliance;
let dir: string;
let recorder: RunningRecorder;
let attacker: NatsConnection;
let revoker: Subscription;
const revocations: { caller: string; request: CommandRequest<'appliance.revoke_identity'> }[] = [];

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-bus-abuse-'));
  // The appliance side of revoke_identity (built elsewhere): a real handler as the appliance.
  const appliance = await app.client('appliance');
  revoker = serveCommand(appliance.nc, {
    command: 'appliance.revoke_identity',
    signer: app.pki.signerFor('appliance'),
    trust: app.pki.trust,
    handle: (request, ctx) => {
      const alreadyDone = revocations.some((r) => r.request.service === request.service);
      revocations.push({ caller: ctx.caller, request });
      return Promise.resolve({ ok: true, alreadyDone });
    },
  });
  recorder = await startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'policy'),
    seal: { everyEvents: 1000, everyMs: 1000 },
    log,
    maxLag: MAX_LAG,
    lagEveryMs: 50,
  });
  attacker = await app.nats.connect('ui');
});

afterAll(async () => {
  revoker?.unsubscribe();
  await recorder?.stop();
  await app?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Health {
  status: 'ok' | 'degraded';
  lag: { total: number | null; max: number };
  bus: { state: string };
  reasons: string[];
}
const health = async (): Promise<Health> =>
  (await recorder.http.inject({ method: 'GET', url: '/health' })).json<Health>();

function failedAttestation(): EventData<'attestation.failed'> {
  return {
    host: 'appliance',
    mode: 'evaluation',
    nonce: randomBytes(32).toString('hex'),
    requestedBy: null,
    quoteDigest: `sha256:${'4'.repeat(64)}`,
    pcrDigest: `sha256:${'5'.repeat(64)}`,
    deploymentDigest: null,
    bundleDigest: `sha256:${'6'.repeat(64)}`,
    checks: {
      secureBoot: true,
      tpmAvailable: true,
      quoteVerified: false,
      measurementsVerified: false,
      deploymentVerified: true,
      releaseBaselineVerified: true,
    },
    evidenceVerified: false,
    policySatisfied: false,
    reasons: ['pcr_mismatch: PCR 7 changed'],
  };
}

/** The recorder's refusals of stored messages: stream sequence → how often it was recorded. */
async function refusals(): Promise<Map<number, number>> {
  const { events } = await app.admin.store.load('service', 'incident-recorder');
  const counts = new Map<number, number>();
  for (const e of events) {
    if (e.event.type !== 'security.envelope.rejected') continue;
    const seq = (e.event.data as EventData<'security.envelope.rejected'>).streamSeq;
    if (seq !== null) counts.set(seq, (counts.get(seq) ?? 0) + 1);
  }
  return counts;
}

describe('a flood of malformed envelopes from one identity', () => {
  it(
    'does not blind the recorder, shows on /health, is recorded once per message, and gets the identity revoked',
    { timeout: 180_000 },
    async () => {
      await waitFor(async () => (await health()).status === 'ok', 20_000, 'a healthy recorder');

      // The probe: garbage on ui's own subject, labelled as a type the recorder watches.
      const before = (await app.admin.jsm.streams.info(app.admin.store.stream)).state.last_seq;
      const h = headers();
      h.set(TYPE_HEADER, 'integrity.violation.detected');
      for (let i = 0; i < FLOOD; i++)
        attacker.publish('secai.evt.service.ui', `{"not":"an envelope","n":${i}}`, { headers: h });
      await attacker.flush();
      // A real attestation failure stored behind the whole flood.
      const attestor = await app.client('runtime-attestor');
      const failed = await attestor.store.append(
        [{ type: 'attestation.failed', aggregateId: 'appliance', data: failedAttestation() }],
        { expectedSequence: 'any' },
      );
      const failedId = failed.ids[0]!;
      expect(failed.lastSequence).toBeGreaterThan(before + FLOOD);

      // While the flood lasts /health says so.
      let degraded: Health | null = null;
      await waitFor(
        async () => {
          const h = await health();
          if (h.status === 'degraded' && (h.lag.total ?? 0) > MAX_LAG) degraded = h;
          return degraded !== null;
        },
        30_000,
        '/health degraded by the observation lag',
      );
      expect(degraded!.reasons.join()).toMatch(/observation lag \d+ above 50/);
      expect(degraded!.bus.state).toBe('connected');

      // The attestation failure opens its incident...
      let attestationIncident: string | undefined;
      await waitFor(
        () => {
          attestationIncident = recorder.book
            .all()
            .find(([, r]) => r.snapshot.context.causeEventIds.includes(failedId))?.[0];
          return attestationIncident !== undefined;
        },
        30_000,
        'the attestation_failure incident',
      );
      const opened = recorder.book.get(attestationIncident!)!.snapshot.context;
      expect(opened.class).toBe('attestation_failure');
      // ...without waiting for the flood stored before it: the refusals were still being recorded
      // when it opened (the old single consumer read it strictly after every one of them).
      const openedAt = (await app.admin.store.load('incident', attestationIncident!)).events[0]!
        .seq;
      const lastRefusalSeq = async () => {
        const { events } = await app.admin.store.load('service', 'incident-recorder');
        return events.filter((e) => e.event.type === 'security.envelope.rejected').at(-1)!.seq;
      };

      // Every one of the 1,000 is refused and recorded, exactly once.
      await waitFor(
        () => recorder.consumer.stats().rejected >= FLOOD,
        90_000,
        'every flooded message refused',
      );
      expect(openedAt).toBeLessThan(await lastRefusalSeq());
      const counts = await refusals();
      const floodCounts = [...counts].filter(([s]) => s > before && s < failed.lastSequence);
      expect(floodCounts).toHaveLength(FLOOD);
      expect(floodCounts.every(([, n]) => n === 1)).toBe(true);

      // The flood is an incident about identity/ui, contained by revoking ui's bus access.
      let abuse: string | undefined;
      await waitFor(
        () => {
          abuse = recorder.book
            .all()
            .find(([, r]) => r.snapshot.context.subject === 'identity/ui')?.[0];
          return abuse !== undefined && stateOf(recorder.book.get(abuse)!.snapshot) !== 'open';
        },
        60_000,
        'the bus_abuse incident contained',
      );
      const ctx = recorder.book.get(abuse!)!.snapshot.context;
      expect(ctx.class).toBe('bus_abuse');
      expect(stateOf(recorder.book.get(abuse!)!.snapshot)).toBe('contained');
      expect(revocations[0]).toEqual({
        caller: 'incident-recorder',
        request: {
          service: 'ui',
          incidentId: abuse,
          reason: expect.stringContaining(abuse!) as string,
        },
      });

      // Once the lanes have caught up, /health is ok again.
      await recorder.consumer.caughtUp(await lastRefusalSeq(), 60_000);
      await waitFor(async () => (await health()).status === 'ok', 60_000, '/health ok again');
    },
  );
});

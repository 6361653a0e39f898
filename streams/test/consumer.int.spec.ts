import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import {
  eventSubject,
  signEvent,
  type DraftEvent,
  type EventType,
  type VerifiedEvent,
} from '@secai/contracts';
import { createRogueSigner } from '@secai/contracts/testing';
import { EVENTS_STREAM, TYPE_HEADER, runConsumer, type RunningConsumer } from '../src/index.js';
import { startTestAppliance, waitFor, type TestAppliance } from '../src/testing/index.js';

// Issue 10 §1, the consumer side: what an attacker holding one service's bus credentials can do
// to a verifying consumer by publishing on the one subject it owns (`secai.evt.service.cli`).

let app: TestAppliance;
let attacker: NatsConnection;
const DURABLE = 'incident-recorder-observations';
const ATTACKER_SUBJECT = eventSubject('service', 'cli');
const running: RunningConsumer[] = [];

beforeAll(async () => {
  app = await startTestAppliance();
  attacker = await app.nats.connect('cli');
});
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
  await app.admin.jsm.consumers.delete(EVENTS_STREAM, DURABLE).catch(() => undefined);
});
afterAll(async () => {
  await app?.cleanup();
});

const started = (service: string): DraftEvent<'service.started'> => ({
  type: 'service.started',
  aggregateId: service,
  data: {
    service: service as never,
    version: '0.0.0',
    pid: 1,
    configDigest: `sha256:${'a'.repeat(64)}`,
  },
});

/** Publishes raw bytes on the attacker's own subject with the `Secai-Type` it chooses. */
async function forge(bytes: Uint8Array | string, type?: string): Promise<number> {
  const h = headers();
  if (type !== undefined) h.set(TYPE_HEADER, type);
  const js = (await app.client('cli')).js;
  return (await js.publish(ATTACKER_SUBJECT, bytes, { headers: h })).seq;
}

/** The recorder's `security.envelope.rejected` events, by the stream sequence they refused. */
async function rejections(): Promise<Map<number, string[]>> {
  const { events } = await app.admin.store.load('service', 'incident-recorder');
  const bySeq = new Map<number, string[]>();
  for (const e of events) {
    if (e.event.type !== 'security.envelope.rejected') continue;
    const d = e.event.data as { streamSeq: number | null; code: string };
    if (d.streamSeq === null) continue;
    bySeq.set(d.streamSeq, [...(bySeq.get(d.streamSeq) ?? []), d.code]);
  }
  return bySeq;
}

async function recorderConsumer(
  options: { types?: readonly EventType[]; ackWaitMs?: number; filterSubject?: string } = {},
  seen: VerifiedEvent[] = [],
): Promise<RunningConsumer> {
  const recorder = await app.client('incident-recorder');
  const consumer = await runConsumer(recorder.js, recorder.jsm, {
    durable: DURABLE,
    filterSubject: options.filterSubject ?? ATTACKER_SUBJECT,
    store: recorder.store,
    // Each test reads only what it publishes (the durable is removed after each).
    deliverPolicy: 'new',
    ...(options.types ? { types: options.types } : {}),
    ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
    handler: (event) => {
      seen.push(event);
      return Promise.resolve();
    },
  });
  running.push(consumer);
  return consumer;
}

describe('a consumer never skips on the sender-written header alone', () => {
  it('records every refused envelope whatever type its Secai-Type header names', async () => {
    const seen: VerifiedEvent[] = [];
    const consumer = await recorderConsumer({ types: ['integrity.violation.detected'] }, seen);
    const cli = app.pki.signerFor('cli');
    const genuine = signEvent(started('cli'), cli, { now: new Date() });
    const payload = JSON.parse(new TextDecoder().decode(genuine.bytes)) as { payload: string };
    const tampered = JSON.stringify({
      ...payload,
      payload: Buffer.from(
        Buffer.from(payload.payload, 'base64').toString().replace('"pid":1', '"pid":2'),
      ).toString('base64'),
    });
    // The probe's forgeries, each labelled with a type this consumer does not watch (or none).
    const forged = [
      await forge('not json at all', 'service.started'),
      await forge('{"payloadType":"x"}', 'service.stopped'),
      await forge(new Uint8Array([0xff, 0xfe, 0x00]), 'model.verified'),
      await forge('', 'policy.decided'),
      await forge('garbage without a header'),
      await forge(
        signEvent(started('cli'), createRogueSigner('cli'), { now: new Date() }).bytes,
        'service.started',
      ),
      await forge(tampered, 'service.started'),
      // Signed by a real key that may not speak for cli.
      await forge(
        signEvent(started('registry'), app.pki.signerFor('registry'), { now: new Date() }).bytes,
        'service.started',
      ),
      // A genuine event of cli on cli's subject, relabelled as another type.
      await forge(
        signEvent(started('cli'), cli, { now: new Date() }).bytes,
        'integrity.baseline.created',
      ),
      await forge('{}', 'attestation.verified'),
      // The one the old consumer did read: its header names a watched type.
      await forge('{"lies":true}', 'integrity.violation.detected'),
    ];
    // A genuine, correctly labelled event of a type nobody here watches is skipped, not refused.
    const honest = await forge(
      signEvent(started('cli'), cli, { now: new Date() }).bytes,
      'service.started',
    );
    await consumer.caughtUp(honest);
    const recorded = await rejections();
    expect(forged.filter((seq) => !recorded.has(seq))).toEqual([]);
    expect(recorded.has(honest)).toBe(false);
    expect(consumer.stats).toMatchObject({ rejected: 11, skipped: 1, handled: 0 });
    expect(seen).toEqual([]);
  });
});

describe('a refused message is disposed of once, the way nats-server 2.9.10 understands', () => {
  it('acknowledges a refusal with a plain +TERM, records it once, and the server never redelivers it', async () => {
    // The acknowledgements on the wire, as the server receives them.
    const acks: string[] = [];
    const tap = app.admin.nc.subscribe(`$JS.ACK.${EVENTS_STREAM}.${DURABLE}.>`, {
      callback: (_err, m) => void acks.push(new TextDecoder().decode(m.data)),
    });
    const ackWaitMs = 300;
    const consumer = await recorderConsumer({ ackWaitMs });
    const seq = await forge('{"forged":true}', 'service.started');
    await consumer.caughtUp(seq);
    await app.admin.nc.flush();
    // Longer than several ack waits: a refusal the server did not take as terminal comes back.
    await new Promise((r) => setTimeout(r, ackWaitMs * 5));
    tap.unsubscribe();

    expect(acks).toEqual(['+TERM']);
    expect((await rejections()).get(seq)).toEqual(['ENVELOPE_MALFORMED']);
    const info = await app.admin.jsm.consumers.info(EVENTS_STREAM, DURABLE);
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
    expect(info.delivered.consumer_seq).toBe(1);
    expect(consumer.stats.rejected).toBe(1);
  });
});

describe('a flood of refused envelopes cannot fill the unacknowledged window', () => {
  it('1,000 malformed envelopes from one identity are each recorded once and a genuine event behind them is still handled', async () => {
    const seen: VerifiedEvent[] = [];
    const consumer = await recorderConsumer(
      { filterSubject: 'secai.evt.>', types: ['integrity.violation.detected'] },
      seen,
    );
    const before = (await rejections()).size;
    const h = headers();
    h.set(TYPE_HEADER, 'integrity.violation.detected');
    for (let i = 0; i < 1000; i++)
      attacker.publish(ATTACKER_SUBJECT, `{"flood":${i}}`, { headers: h });
    await attacker.flush();
    const monitor = await app.client('integrity-monitor');
    const real = await monitor.store.append(
      [
        {
          type: 'integrity.violation.detected',
          aggregateId: 'policy_file',
          data: {
            pathClass: 'policy_file',
            path: '/etc/secai/policy.yaml',
            kind: 'modified',
            expected: `sha256:${'0'.repeat(64)}`,
            actual: `sha256:${'1'.repeat(64)}`,
            severity: 'high',
          },
        },
      ],
      { expectedSequence: 'any' },
    );
    await consumer.caughtUp(real.lastSequence, 50_000);
    expect(seen.map((e) => e.event.type)).toEqual(['integrity.violation.detected']);
    await waitFor(
      async () =>
        (await app.admin.jsm.consumers.info(EVENTS_STREAM, DURABLE)).num_ack_pending === 0,
      10_000,
      'nothing left unacknowledged',
    );
    const recorded = await rejections();
    expect(recorded.size - before).toBe(1000);
    expect([...recorded.values()].every((codes) => codes.length === 1)).toBe(true);
    expect(consumer.stats.rejected).toBe(1000);
  });
});

describe('lanes', () => {
  it('acknowledges unread what is stored on a subject another lane verifies, and reports its lag', async () => {
    const consumer = await recorderConsumer({ filterSubject: 'secai.evt.>' });
    const recorder = await app.client('incident-recorder');
    // A second consumer of the same service would verify these: this one leaves them.
    await consumer.stop();
    running.splice(0);
    const general = await runConsumer(recorder.js, recorder.jsm, {
      durable: DURABLE,
      filterSubject: 'secai.evt.>',
      ignoreSubjects: ['secai.evt.integrity.>'],
      store: recorder.store,
      handler: () => Promise.resolve(),
    });
    running.push(general);
    const monitor = await app.nats.connect('integrity-monitor');
    const h = headers();
    h.set(TYPE_HEADER, 'integrity.violation.detected');
    const monitorJs = (await app.client('integrity-monitor')).js;
    const lane = (await monitorJs.publish('secai.evt.integrity.policy_file', '{}', { headers: h }))
      .seq;
    const mine = await forge('{}', 'service.started');
    await general.caughtUp(mine);
    const recorded = await rejections();
    expect(recorded.has(lane)).toBe(false);
    expect(recorded.get(mine)).toEqual(['ENVELOPE_MALFORMED']);
    expect(general.stats).toMatchObject({ skipped: 1, rejected: 1 });
    await waitFor(async () => (await general.lag()).lag === 0, 10_000, 'no lag');
    const lag = await general.lag();
    expect(lag.ackPending).toBe(0);
    expect(lag.ackFloor).toBeGreaterThanOrEqual(mine);
    await monitor.close();
  });
});

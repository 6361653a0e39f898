import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  eventSubject,
  newEventId,
  signEvent,
  type DraftEvent,
} from '@secai/contracts';
import { createRogueSigner } from '@secai/contracts/testing';
import { TYPE_HEADER, ensureTopology, runConsumer } from '../src/index.js';
import { startTestAppliance, waitFor, type TestAppliance } from '../src/testing/index.js';
import { headers } from '@nats-io/transport-node';

let app: TestAppliance;
beforeAll(async () => {
  app = await startTestAppliance();
});
afterAll(async () => {
  await app?.cleanup();
});

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function started(service: string, pid = 1): DraftEvent<'service.started'> {
  return {
    type: 'service.started',
    aggregateId: service,
    data: { service: service as never, version: '0.0.0', pid, configDigest: digest('a') },
  };
}

function rebaselined(aggregateId: string): DraftEvent<'integrity.state.changed'> {
  return {
    type: 'integrity.state.changed',
    aggregateId,
    data: { pathClass: 'policy_file', from: 'ok', to: 'degraded', violationCount: 1 },
  };
}

describe('event store', () => {
  it('appends with per-aggregate optimistic concurrency and loads the verified history', async () => {
    const { store } = await app.client('integrity-monitor');
    const id = `pc-${Date.now()}`;
    const first = await store.append([rebaselined(id)], { expectedSequence: 0 });
    const second = await store.append([rebaselined(id)], { expectedSequence: first.lastSequence });
    const loaded = await store.load('integrity', id);
    expect(loaded.lastSequence).toBe(second.lastSequence);
    expect(loaded.events.map((e) => e.seq)).toEqual([first.lastSequence, second.lastSequence]);
    expect(loaded.events[1]!.event.causationid).toBeUndefined();
    expect(loaded.events[0]!.signer.service).toBe('integrity-monitor');
  });

  it('refuses an append whose expected sequence is stale, and a retry after re-reading succeeds', async () => {
    const { store } = await app.client('integrity-monitor');
    const id = `race-${Date.now()}`;
    const a = await store.append([rebaselined(id)], { expectedSequence: 0 });
    await store.append([rebaselined(id)], { expectedSequence: a.lastSequence });
    await expect(
      store.append([rebaselined(id)], { expectedSequence: a.lastSequence }),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    // re-read, re-decide, retry
    const { lastSequence } = await store.load('integrity', id);
    const retried = await store.append([rebaselined(id)], { expectedSequence: lastSequence });
    expect(retried.lastSequence).toBeGreaterThan(lastSequence);
    expect((await store.load('integrity', id)).events).toHaveLength(3);
  });

  it('absorbs a duplicate Nats-Msg-Id inside the window', async () => {
    const { js, store } = await app.client('quarantine');
    const signer = app.pki.signerFor('quarantine');
    const id = 'ab'.repeat(32);
    const { event, bytes } = signEvent(
      {
        type: 'quarantine.started',
        aggregateId: id,
        data: { attempt: 1, policyDigest: digest('b'), plannedStages: ['source_policy'] },
      },
      signer,
      { now: new Date(), id: newEventId() },
    );
    const subject = eventSubject('artifact', id);
    const h = headers();
    h.set(TYPE_HEADER, event.type);
    const first = await js.publish(subject, bytes, { msgID: event.id, headers: h });
    const again = await js.publish(subject, bytes, { msgID: event.id, headers: h });
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    expect((await store.load('artifact', id)).events).toHaveLength(1);
  });
});

describe('authority enforced by the server', () => {
  it('refuses a publish by a service on another service aggregate', async () => {
    const { js } = await app.client('quarantine');
    const { bytes } = signEvent(started('registry'), app.pki.signerFor('registry'), {
      now: new Date(),
    });
    await expect(
      js.publish(eventSubject('service', 'registry'), bytes, { timeout: 2000 }),
    ).rejects.toThrow(/Permissions Violation/);
    const { bytes: other } = signEvent(rebaselined('x'), app.pki.signerFor('integrity-monitor'), {
      now: new Date(),
    });
    await expect(
      js.publish(eventSubject('integrity', 'x'), other, { timeout: 2000 }),
    ).rejects.toThrow(/Permissions Violation/);
  });

  it('lets the dashboard subscribe to events and publish nothing', async () => {
    const nc = await app.nats.connect('dashboard');
    const seen: string[] = [];
    const sub = nc.subscribe('secai.evt.>', { callback: (_e, m) => void seen.push(m.subject) });
    await nc.flush();
    const { store } = await app.client('registry');
    await store.appendServiceEvent(started('registry', 7));
    // Bounds for a loaded machine, not performance expectations.
    await waitFor(() => seen.includes('secai.evt.service.registry'), 30_000, 'dashboard delivery');
    const errors: unknown[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error') errors.push(s);
    })();
    nc.publish('secai.evt.service.registry', 'forged');
    await waitFor(() => errors.length > 0, 30_000, 'permission violation');
    sub.unsubscribe();
  });
});

describe('durable consumer', () => {
  it('terminates forged and unauthorised envelopes, records them, and hands only verified events on', async () => {
    const recorder = await app.client('incident-recorder');
    const aggregate = `consumer-${Date.now()}`;
    const seen: number[] = [];
    const consumer = await runConsumer(recorder.js, recorder.jsm, {
      durable: 'incident-recorder-observations',
      filterSubject: eventSubject('integrity', aggregate),
      store: recorder.store,
      handler: (e, meta) => {
        seen.push(meta.seq);
        expect(e.signer.service).toBe('integrity-monitor');
        return Promise.resolve();
      },
    });
    const monitor = await app.client('integrity-monitor');
    const good = await monitor.store.append([rebaselined(aggregate)], { expectedSequence: 'any' });
    const subject = eventSubject('integrity', aggregate);
    const h = headers();
    h.set(TYPE_HEADER, 'integrity.state.changed');

    // A key nobody trusts.
    const rogue = signEvent(rebaselined(aggregate), createRogueSigner('integrity-monitor'), {
      now: new Date(),
    });
    const rogueAck = await monitor.js.publish(subject, rogue.bytes, { headers: h });

    // A payload altered after signing.
    const genuine = signEvent(rebaselined(aggregate), app.pki.signerFor('integrity-monitor'), {
      now: new Date(),
    });
    const env = JSON.parse(new TextDecoder().decode(genuine.bytes)) as { payload: string };
    const altered = JSON.parse(Buffer.from(env.payload, 'base64').toString()) as {
      data: { to: string };
    };
    altered.data.to = 'ok';
    env.payload = Buffer.from(JSON.stringify(altered)).toString('base64');
    const tamperedAck = await monitor.js.publish(subject, JSON.stringify(env), { headers: h });

    // The admin identity may publish anywhere, but its key may not emit integrity events.
    const unauthorised = signEvent(rebaselined(aggregate), app.pki.signerFor('appliance'), {
      now: new Date(),
    });
    const unauthorisedAck = await app.admin.js.publish(subject, unauthorised.bytes, { headers: h });

    // A genuine envelope whose routing header lies about its type.
    const relabelled = signEvent(rebaselined(aggregate), app.pki.signerFor('integrity-monitor'), {
      now: new Date(),
    });
    const lying = headers();
    lying.set(TYPE_HEADER, 'integrity.baseline.created');
    const relabelledAck = await monitor.js.publish(subject, relabelled.bytes, { headers: lying });

    await consumer.caughtUp(relabelledAck.seq);
    expect(seen).toEqual([good.lastSequence]);
    expect(consumer.stats.rejected).toBe(4);

    const { events } = await recorder.store.load('service', 'incident-recorder');
    const rejected = events
      .filter((e) => e.event.type === 'security.envelope.rejected')
      .map((e) => e.event.data as { code: string; streamSeq: number });
    expect(rejected).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'KEY_UNKNOWN', streamSeq: rogueAck.seq }),
        expect.objectContaining({ code: 'SIGNATURE_INVALID', streamSeq: tamperedAck.seq }),
        expect.objectContaining({ code: 'TYPE_NOT_AUTHORISED', streamSeq: unauthorisedAck.seq }),
        expect.objectContaining({ code: 'ENVELOPE_MALFORMED', streamSeq: relabelledAck.seq }),
      ]),
    );
    await consumer.stop();
  });
});

describe('topology', () => {
  it('ensure() is idempotent: a second run changes nothing', async () => {
    const again = await ensureTopology(app.admin.nc, app.admin.jsm);
    expect(again.stream.action).toBe('unchanged');
    expect(Object.values(again.buckets).every((b) => b === 'exists')).toBe(true);
  });
});

describe('transient handler failure', () => {
  it('naks with backoff and processes the event once the handler succeeds', async () => {
    const recorder = await app.client('incident-recorder');
    const aggregate = `nak-${Date.now()}`;
    let attempts = 0;
    const handled: number[] = [];
    const consumer = await runConsumer(recorder.js, recorder.jsm, {
      durable: 'incident-recorder-priority',
      filterSubject: eventSubject('integrity', aggregate),
      store: recorder.store,
      nakDelaysMs: [50],
      handler: (_e, meta) => {
        attempts++;
        if (attempts < 3) return Promise.reject(new Error('database briefly unavailable'));
        handled.push(meta.deliveryCount);
        return Promise.resolve();
      },
    });
    const monitor = await app.client('integrity-monitor');
    const { lastSequence } = await monitor.store.append([rebaselined(aggregate)], {
      expectedSequence: 'any',
    });
    await consumer.caughtUp(lastSequence);
    expect(attempts).toBe(3);
    expect(handled).toEqual([3]);
    expect(consumer.stats).toMatchObject({ handled: 1, retried: 2, rejected: 0 });
    await consumer.stop();
  });
});

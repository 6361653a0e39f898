import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_STREAM, ensureTopology } from '../src/index.js';
import { startTestNats, type TestNats } from '../src/testing/index.js';

// Issue 10 §1: holding `ui`'s real credentials, an attacker re-sent the JetStream create request
// for the incident recorder's durable (new filter, max_ack_pending 1), pulled and acknowledged its
// messages, and could read or delete it. The server's permissions must refuse every one of those
// API subjects to anyone but the owner; the owner keeps every right it needs.

const DURABLE = 'incident-recorder-observations';
const S = EVENTS_STREAM;
let nats: TestNats;
let admin: JetStreamManager;
let attacker: NatsConnection;
let owner: NatsConnection;

type Outcome = { refused: true; message: string } | { refused: false; body: unknown };

async function attempt(nc: NatsConnection, subject: string, body: unknown): Promise<Outcome> {
  try {
    const m = await nc.request(subject, JSON.stringify(body), { timeout: 3000 });
    return { refused: false, body: m.json() };
  } catch (err) {
    const message = `${(err as Error).name}: ${(err as Error).message}`;
    // Only the server saying no counts; a timeout would prove nothing.
    if (!/permission/i.test(message)) throw err;
    return { refused: true, message };
  }
}

const recorderConfig = {
  durable_name: DURABLE,
  ack_policy: AckPolicy.Explicit,
  filter_subject: 'secai.evt.>',
  max_ack_pending: 1000,
};

beforeAll(async () => {
  nats = await startTestNats();
  const nc = await nats.connect('appliance');
  admin = await jetstreamManager(nc);
  await ensureTopology(nc, admin);
  owner = await nats.connect('incident-recorder');
  // The owner creates its durable with its own rights, as the recorder does at start.
  await (await jetstreamManager(owner)).consumers.add(S, recorderConfig);
  const registry = await nats.connect('registry');
  for (let i = 0; i < 6; i++) registry.publish('secai.evt.service.registry', `x${i}`);
  await registry.flush();
  attacker = await nats.connect('ui');
}, 60_000);

afterAll(async () => {
  await nats?.cleanup();
});

async function recorderState() {
  const info = await admin.consumers.info(S, DURABLE);
  return {
    filter: info.config.filter_subject,
    maxAckPending: info.config.max_ack_pending,
    delivered: info.delivered.stream_seq,
    ackFloor: info.ack_floor.stream_seq,
  };
}

describe("another service's durable is out of reach", () => {
  it('refuses every way of re-creating or reconfiguring it', async () => {
    const before = await recorderState();
    const hostile = {
      stream_name: S,
      config: { ...recorderConfig, filter_subject: 'secai.evt.nothing.>', max_ack_pending: 1 },
    };
    const named = {
      stream_name: S,
      config: { ...hostile.config, durable_name: undefined, name: DURABLE },
    };
    for (const [subject, body] of [
      [`$JS.API.CONSUMER.CREATE.${S}.${DURABLE}`, named],
      [`$JS.API.CONSUMER.CREATE.${S}.${DURABLE}.secai.evt.nothing.>`, named],
      [`$JS.API.CONSUMER.CREATE.${S}.${DURABLE}`, hostile],
      [`$JS.API.CONSUMER.DURABLE.CREATE.${S}.${DURABLE}`, hostile],
      // The legacy create names the durable in the body only.
      [`$JS.API.CONSUMER.CREATE.${S}`, hostile],
    ] as const) {
      const outcome = await attempt(attacker, subject, body);
      expect(outcome.refused, `${subject}: ${JSON.stringify(outcome)}`).toBe(true);
    }
    // A name of its own in the subject with the victim's durable in the body: the server
    // refuses the mismatch, whatever the permissions.
    const smuggled = await attempt(attacker, `$JS.API.CONSUMER.CREATE.${S}.mine`, hostile);
    expect(JSON.stringify(smuggled)).toMatch(/error|refused/i);
    expect(await recorderState()).toEqual(before);
  });

  it('refuses pulling, acknowledging, inspecting and deleting it', async () => {
    const before = await recorderState();
    const pull = await attempt(attacker, `$JS.API.CONSUMER.MSG.NEXT.${S}.${DURABLE}`, {
      batch: 6,
      expires: 1_000_000_000,
    });
    expect(pull.refused, JSON.stringify(pull)).toBe(true);
    const info = await attempt(attacker, `$JS.API.CONSUMER.INFO.${S}.${DURABLE}`, {});
    expect(info.refused, JSON.stringify(info)).toBe(true);
    const del = await attempt(attacker, `$JS.API.CONSUMER.DELETE.${S}.${DURABLE}`, {});
    expect(del.refused, JSON.stringify(del)).toBe(true);
    // An ack published blind (the attacker guesses the reply subject's shape).
    const errors: string[] = [];
    const watching = (async () => {
      for await (const s of attacker.status()) if (s.type === 'error') errors.push(String(s.error));
    })();
    attacker.publish(`$JS.ACK.${S}.${DURABLE}.1.1.1.0.0`, '+ACK');
    await attacker.flush();
    for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(errors.join(' ')).toMatch(/Permissions Violation/i);
    void watching;
    const after = await recorderState();
    expect(after).toEqual(before);
    expect(after.delivered).toBe(0);
  });

  it('still lets the owner pull and acknowledge its own durable', async () => {
    const consumer = await jetstream(owner).consumers.get(S, DURABLE);
    const m = await consumer.next({ expires: 5000 });
    expect(m?.seq).toBe(1);
    m!.ack();
    await owner.flush();
    await expect.poll(async () => (await recorderState()).ackFloor, { timeout: 10_000 }).toBe(1);
  });
});

import { createLogger } from '@secai/streams';
import { startTestAppliance, waitFor, type TestAppliance } from '@secai/streams/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsumerWarden, type ConsumerWarden } from '../src/consumerWarden.js';

// When the server does not say who created a consumer (2.9.10's audit names no user, and the
// RTT match found nobody, or there is no system user on an external bus), the warden still
// removes what no identity may hold, and the removal is evidence: it is recorded, unattributed,
// so nobody is revoked on a guess.

let app: TestAppliance;
let warden: ConsumerWarden;

beforeAll(async () => {
  app = await startTestAppliance();
  const identities = new Map([...app.nats.users.values()].map((u) => [u.publicKey, u.name]));
  warden = startConsumerWarden({
    nc: app.admin.nc,
    jsm: app.admin.jsm,
    store: app.admin.store,
    identities,
    system: null,
    log: createLogger('warden-test', 'silent'),
  });
  await app.admin.nc.flush();
}, 60_000);

afterAll(async () => {
  warden?.stop();
  await app?.cleanup();
});

describe('an unattributed push consumer', () => {
  it('is removed and recorded on identity/unattributed without naming a service', async () => {
    const ui = await app.nats.connect('ui');
    const reply = await ui.request(
      '$JS.API.CONSUMER.CREATE.SECAI_EVENTS.anon',
      JSON.stringify({
        stream_name: 'SECAI_EVENTS',
        config: { name: 'anon', ack_policy: 'none', deliver_subject: 'secai.cmd.registry.x' },
      }),
      { timeout: 10_000 },
    );
    expect(reply.json<{ error?: unknown }>().error).toBeUndefined();
    const recorded = async () => {
      const loaded = await app.admin.store.load('identity', 'unattributed');
      return loaded.events.filter((e) => e.event.type === 'security.bus.violation');
    };
    await waitFor(async () => (await recorded()).length > 0, 30_000, 'the violation recorded');
    const [violation] = await recorded();
    expect(violation!.event.data).toEqual({
      kind: 'push_consumer',
      stream: 'SECAI_EVENTS',
      consumer: 'anon',
      deliverSubject: 'secai.cmd.registry.x',
      action: 'deleted',
    });
    await expect(app.admin.jsm.consumers.info('SECAI_EVENTS', 'anon')).rejects.toThrow();
  });
});

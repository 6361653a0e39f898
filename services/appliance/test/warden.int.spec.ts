import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@secai/streams/testing';
import { bootForTest, type BootedForTest } from './fixture.js';

// Issue 10 §1 (appliance side): a service that may create consumers can name a push
// deliver_subject in the request body, which subject permissions cannot see. The probe's attack:
// as 'ui', a push consumer on the events stream delivering onto the registry's
// quarantine_model command subject. The appliance's warden must remove it and record it.

let t: BootedForTest;
beforeAll(async () => {
  t = await bootForTest({ services: [] });
});
afterAll(async () => {
  await t?.cleanup();
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function rawCreate(
  identity: string,
  name: string,
  config: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const nc = await t.connect(identity);
  const reply = await nc.request(
    `$JS.API.CONSUMER.CREATE.SECAI_EVENTS.${name}`,
    encoder.encode(JSON.stringify({ stream_name: 'SECAI_EVENTS', config: { name, ...config } })),
    { timeout: 10_000 },
  );
  return JSON.parse(decoder.decode(reply.data)) as Record<string, unknown>;
}

async function consumerExists(name: string): Promise<boolean> {
  const jsm = await jetstreamManager(await t.connect('appliance'));
  return jsm.consumers.info('SECAI_EVENTS', name).then(
    () => true,
    () => false,
  );
}

describe('consumer warden', () => {
  it("removes a push consumer that delivers stored events onto another service's command subject, and records it", async () => {
    // The registry listens on its command subject, as it does in a running appliance: the
    // consumer has interest, so the server keeps it and delivers to it.
    const registry = await t.connect('registry');
    registry.subscribe('secai.cmd.registry.quarantine_model', { callback: () => {} });
    await registry.flush();
    const created = await rawCreate('ui', 'pushy', {
      ack_policy: 'none',
      deliver_subject: 'secai.cmd.registry.quarantine_model',
      deliver_policy: 'all',
    });
    // The server took it: permissions cannot see the body (this is the attack).
    expect(created.error).toBeUndefined();
    await waitFor(
      async () => !(await consumerExists('pushy')),
      30_000,
      'the push consumer removed',
    );
    await waitFor(
      async () => (await t.events('identity.ui')).some((e) => e.type === 'security.bus.violation'),
      30_000,
      'security.bus.violation recorded',
    );
    const violation = (await t.events('identity.ui')).find(
      (e) => e.type === 'security.bus.violation',
    );
    expect(violation?.source).toBe('secai://appliance');
    expect(violation?.data).toEqual({
      service: 'ui',
      kind: 'push_consumer',
      stream: 'SECAI_EVENTS',
      consumer: 'pushy',
      deliverSubject: 'secai.cmd.registry.quarantine_model',
      action: 'deleted',
    });
  });

  it("removes a durable that is in nobody's table, names its creator, and leaves the creator's own inbox watchers alone", async () => {
    // A KV watcher of the trust bundle: a push consumer into registry's own inbox (legitimate).
    const registry = await t.connect('registry');
    const watch = await (await new Kvm(registry).open('secai_trust')).watch({ key: 'bundle' });
    const created = await rawCreate('registry', 'registry-sneaky', {
      durable_name: 'registry-sneaky',
      ack_policy: 'explicit',
    });
    expect(created.error).toBeUndefined();
    await waitFor(
      async () =>
        (await t.events('identity.registry')).some(
          (e) =>
            e.type === 'security.bus.violation' &&
            (e.data as { consumer: string }).consumer === 'registry-sneaky',
        ),
      30_000,
      'the foreign durable recorded',
    );
    expect(await consumerExists('registry-sneaky')).toBe(false);
    const violations = (await t.events('identity.registry')).filter(
      (e) => e.type === 'security.bus.violation',
    );
    // Only the durable: the watcher was judged (its create was audited before it) and kept.
    expect(violations.map((e) => e.data)).toEqual([
      {
        service: 'registry',
        kind: 'foreign_consumer',
        stream: 'SECAI_EVENTS',
        consumer: 'registry-sneaky',
        action: 'deleted',
      },
    ]);
    const jsm = await jetstreamManager(await t.connect('appliance'));
    const kvConsumers: string[] = [];
    for await (const c of jsm.consumers.list('KV_secai_trust'))
      kvConsumers.push(c.config.deliver_subject ?? '');
    expect(kvConsumers.some((s) => s.startsWith('_INBOX_registry.'))).toBe(true);
    watch.stop();
  });
});

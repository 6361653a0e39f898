import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { nkeyAuthenticator, wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { inboxPrefixOf, loadNatsUser, readRuntimeInfo } from '@secai/streams';
import { waitFor } from '@secai/streams/testing';
import { bootForTest, type BootedForTest } from './fixture.js';

// Issue 14 §1, boot side: `secai boot` gives the bus a loopback websocket listener for the UI's
// origins (8480 + the port offset), says where it is in runtime.json, and the consumer warden
// holds the dashboard to ordered pull consumers: a durable or a push consumer it makes over the
// websocket is removed and recorded on identity/dashboard.

const OFFSET = 1000;
const ORIGIN = `http://127.0.0.1:${8480 + OFFSET}`;

let t: BootedForTest;
let dashboard: NatsConnection;
const realWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

beforeAll(async () => {
  t = await bootForTest({ services: [], portOffset: OFFSET });
  class FromTheUi extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { origin: ORIGIN });
    }
  }
  (globalThis as { WebSocket?: unknown }).WebSocket = FromTheUi;
  const user = await loadNatsUser(t.stateDir, 'dashboard');
  dashboard = await wsconnect({
    servers: t.appliance.natsWebsocketUrl!,
    authenticator: nkeyAuthenticator(user.seed),
    inboxPrefix: inboxPrefixOf('dashboard'),
    maxReconnectAttempts: 0,
  });
});
afterAll(async () => {
  (globalThis as { WebSocket?: unknown }).WebSocket = realWebSocket;
  await dashboard?.close().catch(() => undefined);
  await t?.cleanup();
});

async function consumerExists(name: string): Promise<boolean> {
  const jsm = await jetstreamManager(await t.connect('appliance'));
  return jsm.consumers.info('SECAI_EVENTS', name).then(
    () => true,
    () => false,
  );
}

const violations = async () =>
  (await t.events('identity.dashboard'))
    .filter((e) => e.type === 'security.bus.violation')
    .map((e) => ({ source: e.source, data: e.data as Record<string, unknown> }));

describe('boot: the websocket listener', () => {
  it('is written to runtime.json and configured for the UI origins with the port offset', async () => {
    const info = await readRuntimeInfo(t.stateDir);
    expect(info?.natsWebsocketUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(info?.natsWebsocketUrl).toBe(t.appliance.natsWebsocketUrl);
    const config = JSON.parse(
      await readFile(join(t.stateDir, 'nats', 'nats-server.json'), 'utf8'),
    ) as { websocket: Record<string, unknown> };
    // After the start the config names the port the server chose, so a restart keeps it.
    expect(config.websocket).toEqual({
      host: '127.0.0.1',
      port: Number(new URL(info!.natsWebsocketUrl!).port),
      no_tls: true,
      allowed_origins: [`http://127.0.0.1:${8480 + OFFSET}`, `http://localhost:${8480 + OFFSET}`],
    });
  });
});

describe('consumer warden: the dashboard', () => {
  it('keeps its ordered pull consumer (a read of the event stream over the websocket)', async () => {
    const consumer = await jetstream(dashboard).consumers.get('SECAI_EVENTS', {
      filter_subjects: 'secai.evt.service.appliance',
    });
    const msg = await consumer.next({ expires: 10_000 });
    expect(msg?.subject).toBe('secai.evt.service.appliance');
    const { name } = await consumer.info(true);
    expect(await consumerExists(name)).toBe(true);
  });

  it('removes a durable it makes through the named create, and records it on identity/dashboard', async () => {
    const jsm = await jetstreamManager(dashboard);
    // The server takes it: a durable in the body is invisible to subject permissions.
    await jsm.consumers.add('SECAI_EVENTS', {
      durable_name: 'dash-durable',
      ack_policy: AckPolicy.Explicit,
    });
    await waitFor(
      async () => (await violations()).some((e) => e.data.consumer === 'dash-durable'),
      30_000,
      'the durable recorded',
    );
    expect(await consumerExists('dash-durable')).toBe(false);
    const recorded = (await violations()).find((e) => e.data.consumer === 'dash-durable');
    expect(recorded?.source).toBe('secai://appliance');
    // `service` names services only (contracts): the aggregate says who.
    expect(recorded?.data).toEqual({
      kind: 'foreign_consumer',
      stream: 'SECAI_EVENTS',
      consumer: 'dash-durable',
      action: 'deleted',
    });
  });

  it('removes a push consumer it makes, even into its own inbox, and records it', async () => {
    const deliverSubject = `${inboxPrefixOf('dashboard')}.standing`;
    const reply = await dashboard.request(
      '$JS.API.CONSUMER.CREATE.SECAI_EVENTS.dash-push',
      JSON.stringify({
        stream_name: 'SECAI_EVENTS',
        config: {
          name: 'dash-push',
          ack_policy: 'none',
          deliver_subject: deliverSubject,
          deliver_policy: 'all',
        },
      }),
      { timeout: 10_000 },
    );
    expect((JSON.parse(new TextDecoder().decode(reply.data)) as { error?: unknown }).error).toBe(
      undefined,
    );
    await waitFor(
      async () => (await violations()).some((e) => e.data.consumer === 'dash-push'),
      30_000,
      'the push consumer recorded',
    );
    expect(await consumerExists('dash-push')).toBe(false);
    expect((await violations()).find((e) => e.data.consumer === 'dash-push')?.data).toEqual({
      kind: 'push_consumer',
      stream: 'SECAI_EVENTS',
      consumer: 'dash-push',
      deliverSubject,
      action: 'deleted',
    });
    // Its ordered reads were never recorded: only the two it may not hold.
    expect((await violations()).map((e) => e.data.consumer).sort()).toEqual([
      'dash-durable',
      'dash-push',
    ]);
  });
});

describe('boot: the websocket listener under supervision', () => {
  it('comes back on the same URL after nats-server is killed and restarted', async () => {
    const url = t.appliance.natsWebsocketUrl!;
    const pid = await t.natsPid();
    expect(pid).not.toBeNull();
    process.kill(pid!, 'SIGKILL');
    await waitFor(
      () => (t.appliance.bus()?.restarts ?? 0) >= 1 && t.appliance.bus()?.state === 'running',
      30_000,
      'the bus restarted',
    );
    const user = await loadNatsUser(t.stateDir, 'dashboard');
    const again = await wsconnect({
      servers: url,
      authenticator: nkeyAuthenticator(user.seed),
      inboxPrefix: inboxPrefixOf('dashboard'),
      maxReconnectAttempts: 0,
    });
    const consumer = await jetstream(again).consumers.get('SECAI_EVENTS');
    expect((await consumer.next({ expires: 10_000 }))?.subject).toMatch(/^secai\.evt\./);
    await again.close();
  });
});

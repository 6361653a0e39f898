import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { nkeyAuthenticator, wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodePayload, parseEnvelope } from '@secai/contracts';
import { EVENTS_STREAM, KV_BUCKETS, TRUST_KEY, inboxPrefixOf, uiOrigins } from '../src/index.js';
import { startTestAppliance, waitFor, type TestAppliance } from '../src/testing/index.js';

// Issue 14 §1, the bus side: the browser connects over the loopback websocket listener as the
// read-only `dashboard` identity. It can read the event stream (ordered pull consumers) and the
// trust KV; the server refuses every write, a browser from a foreign origin, any other identity
// over websocket, and the listener is on loopback only.

const UI_PORT = 18480; // any port: the origins are what is checked, nothing listens there
const [ORIGIN, LOCALHOST_ORIGIN] = uiOrigins(UI_PORT) as [string, string];

let app: TestAppliance;
const opened: NatsConnection[] = [];
const realWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

/** `globalThis.WebSocket` for nats.js: the `ws` client, sending `origin` as a browser would. */
function useWebSocket(origin: string | undefined): void {
  class BrowserLikeWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, origin === undefined ? {} : { origin });
    }
  }
  (globalThis as { WebSocket?: unknown }).WebSocket = BrowserLikeWebSocket;
}

async function dashboardOverWebsocket(
  origin: string | undefined = ORIGIN,
  identity = 'dashboard',
): Promise<NatsConnection> {
  useWebSocket(origin);
  const nc = await wsconnect({
    servers: app.nats.websocketUrl!,
    authenticator: nkeyAuthenticator(app.nats.users.get(identity)!.seed),
    inboxPrefix: inboxPrefixOf(identity),
    maxReconnectAttempts: 0,
    timeout: 10_000,
  });
  opened.push(nc);
  return nc;
}

beforeAll(async () => {
  app = await startTestAppliance({ websocket: { allowedOrigins: uiOrigins(UI_PORT) } });
  const { store } = await app.client('registry');
  await store.appendServiceEvent({
    type: 'service.started',
    aggregateId: 'registry',
    data: {
      service: 'registry',
      version: '0.0.0',
      pid: 4242,
      configDigest: `sha256:${'a'.repeat(64)}`,
    },
  });
});
afterEach(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket = realWebSocket;
});
afterAll(async () => {
  await Promise.all(opened.map((nc) => nc.close().catch(() => undefined)));
  await app?.cleanup();
});

async function streamState(): Promise<{ messages: number; consumers: number }> {
  const info = await app.admin.jsm.streams.info(EVENTS_STREAM);
  return { messages: info.state.messages, consumers: info.state.consumer_count };
}

describe('the websocket listener', () => {
  it('is in the generated config on 127.0.0.1, plain ws, for the UI origins only', async () => {
    const config = JSON.parse(await readFile(join(app.nats.dir, 'nats-server.json'), 'utf8')) as {
      websocket: Record<string, unknown>;
      authorization: { users: { nkey: string; allowed_connection_types: string[] }[] };
    };
    expect(config.websocket).toEqual({
      host: '127.0.0.1',
      port: -1,
      no_tls: true,
      allowed_origins: [`http://127.0.0.1:${UI_PORT}`, `http://localhost:${UI_PORT}`],
    });
    expect(app.nats.websocketUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const typesOf = (name: string) =>
      config.authorization.users.find((u) => u.nkey === app.nats.users.get(name)!.publicKey)
        ?.allowed_connection_types;
    expect(typesOf('dashboard')).toEqual(['STANDARD', 'WEBSOCKET']);
    expect(typesOf('registry')).toEqual(['STANDARD']);
    expect(typesOf('appliance')).toEqual(['STANDARD']);
  });

  it('listens on loopback only', async () => {
    const port = Number(new URL(app.nats.websocketUrl!).port);
    // The kernel's own table of listening sockets: exactly one, bound to 127.0.0.1.
    const listening = async (file: string) =>
      (await readFile(file, 'utf8'))
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((f) => f[3] === '0A' && parseInt(f[1]!.split(':')[1]!, 16) === port)
        .map((f) => f[1]!.split(':')[0]);
    expect(await listening('/proc/net/tcp')).toEqual(['0100007F']);
    expect(await listening('/proc/net/tcp6').catch(() => [])).toEqual([]);
    // And from this host's other addresses, nobody answers.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    for (const address of others) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = tcpConnect({ host: address, port }, () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(outcome, address).toBe('ECONNREFUSED');
    }
  });

  it('refuses a browser from a foreign origin, and the UI port on the wrong port', async () => {
    const handshake = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(app.nats.websocketUrl!, { origin });
        socket.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          socket.terminate();
        });
        socket.on('open', () => {
          resolve(101);
          socket.close();
        });
        socket.on('error', (err) => reject(err));
      });
    expect(await handshake('http://evil.example')).toBe(403);
    expect(await handshake(`http://127.0.0.1:${UI_PORT + 1}`)).toBe(403);
    expect(await handshake(`https://127.0.0.1:${UI_PORT}`)).toBe(403);
    // The same handshake from the UI's origins is taken (it can fail: the check is real).
    expect(await handshake(ORIGIN)).toBe(101);
    expect(await handshake(LOCALHOST_ORIGIN)).toBe(101);
    // Through the NATS client: a foreign page never gets a connection.
    await expect(dashboardOverWebsocket('http://evil.example')).rejects.toThrow();
  });

  it('takes the dashboard and nobody else', async () => {
    const nc = await dashboardOverWebsocket();
    expect(nc.getServer()).toContain('127.0.0.1');
    await expect(dashboardOverWebsocket(ORIGIN, 'registry')).rejects.toThrow(/Authorization/i);
    await expect(dashboardOverWebsocket(ORIGIN, 'appliance')).rejects.toThrow(/Authorization/i);
  });
});

describe('the dashboard over websocket reads', () => {
  it('the event stream with an ordered consumer, and the live subject', async () => {
    const nc = await dashboardOverWebsocket();
    const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, {
      filter_subjects: 'secai.evt.service.registry',
    });
    const msg = await consumer.next({ expires: 10_000 });
    expect(msg?.subject).toBe('secai.evt.service.registry');
    const event = decodePayload(parseEnvelope(msg!.data)) as { type: string; data: unknown };
    expect(event.type).toBe('service.started');
    expect(event.data).toMatchObject({ service: 'registry', pid: 4242 });

    const live: string[] = [];
    nc.subscribe('secai.evt.>', { callback: (_e, m) => void live.push(m.subject) });
    await nc.flush();
    await (
      await app.client('registry')
    ).store.appendServiceEvent({
      type: 'service.stopped',
      aggregateId: 'registry',
      data: { service: 'registry', pid: 4242, reason: 'test' },
    });
    await waitFor(() => live.includes('secai.evt.service.registry'), 30_000, 'a live event');
  });

  it('a key of the trust KV, by a get and by an ordered consumer on its stream', async () => {
    const nc = await dashboardOverWebsocket();
    const kv = await new Kvm(nc).open(KV_BUCKETS.trust);
    const entry = await kv.get(TRUST_KEY);
    const bundle = JSON.parse(new TextDecoder().decode(entry!.value)) as {
      certificates: { service: string }[];
    };
    expect(bundle.certificates.map((c) => c.service)).toContain('registry');

    const follow = await jetstream(nc).consumers.get(`KV_${KV_BUCKETS.trust}`, {
      filter_subjects: `$KV.${KV_BUCKETS.trust}.${TRUST_KEY}`,
      deliver_policy: DeliverPolicy.LastPerSubject,
    });
    const last = await follow.next({ expires: 10_000 });
    expect(last?.data).toEqual(entry!.value);
  });
});

describe('the server refuses the dashboard', () => {
  it('publishing an event, sending a command', async () => {
    const nc = await dashboardOverWebsocket();
    const before = await streamState();
    await expect(
      jetstream(nc).publish('secai.evt.service.registry', 'forged', { timeout: 5000 }),
    ).rejects.toThrow(/Permissions Violation/);
    await expect(
      nc.request('secai.cmd.registry.quarantine_model', '{}', { timeout: 5000 }),
    ).rejects.toThrow(/Permissions Violation/);
    expect((await streamState()).messages).toBe(before.messages);
  });

  it('creating a durable the old way, deleting a consumer or the stream, purging', async () => {
    const nc = await dashboardOverWebsocket();
    const jsm = await jetstreamManager(nc);
    // A consumer the dashboard may see but not remove: its own ordered one.
    const ordered = await jetstream(nc).consumers.get(EVENTS_STREAM);
    await ordered.next({ expires: 10_000 });
    const { name } = await ordered.info(true);
    const before = await streamState();
    const request = (subject: string, body: unknown = {}) =>
      nc.request(subject, JSON.stringify(body), { timeout: 5000 });

    await expect(
      request(`$JS.API.CONSUMER.DURABLE.CREATE.${EVENTS_STREAM}.dash-durable`, {
        stream_name: EVENTS_STREAM,
        config: { durable_name: 'dash-durable', ack_policy: 'explicit' },
      }),
    ).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.consumers.delete(EVENTS_STREAM, name)).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect(jsm.streams.purge(EVENTS_STREAM)).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.delete(EVENTS_STREAM)).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.delete(`KV_${KV_BUCKETS.trust}`)).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect(jsm.streams.add({ name: 'DASH_OWN', subjects: ['dash.>'] })).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect((await new Kvm(nc).open(KV_BUCKETS.trust)).put(TRUST_KEY, 'x')).rejects.toThrow(
      /Permissions Violation/,
    );

    const after = await streamState();
    expect(after.messages).toBe(before.messages);
    expect(await app.admin.jsm.consumers.info(EVENTS_STREAM, name)).toBeTruthy();
    await expect(app.admin.jsm.consumers.info(EVENTS_STREAM, 'dash-durable')).rejects.toThrow();
  });
});

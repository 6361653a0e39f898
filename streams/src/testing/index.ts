import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { SERVICES } from '@secai/contracts';
import { createTestPki } from '@secai/contracts/testing';
import { connectAs } from '../connect.js';
import { ensureNatsUsers, type NatsUser } from '../credentials.js';
import { KV_BUCKETS } from '../definitions.js';
import { ensureTopology } from '../ensure.js';
import { EventStore } from '../eventStore.js';
import { launchNatsServer, type NatsServerHandle } from '../launcher.js';
import { renderServerConfig, type WebsocketListenerOptions } from '../serverConfig.js';
import { TrustCache, publishTrustBundle } from '../trust.js';

export interface TestNats {
  readonly dir: string;
  url: string;
  /** `ws://127.0.0.1:<port>` with `websocket` in the options; else undefined. */
  websocketUrl: string | undefined;
  server: NatsServerHandle;
  users: Map<string, NatsUser>;
  connect(user: string): Promise<NatsConnection>;
  /** Starts the server again on the same port and store (after `server.kill()` or `stop()`). */
  restart(): Promise<void>;
  /** Stops the server, closes every connection made through `connect`, removes the temp dir. */
  cleanup(): Promise<void>;
}

export interface TestNatsOptions {
  /**
   * `ConnectOptions.asyncTraces` of every connection made through `connect` (default true: a
   * failing test shows the caller's stack). The bench turns it off to measure the service
   * configuration.
   */
  asyncTraces?: boolean;
  /**
   * Adds the loopback websocket listener (as `secai boot` does): a free port, accepting browsers
   * from the given origins (default: none but clients that send no `Origin`).
   */
  websocket?: Partial<WebsocketListenerOptions>;
}

/**
 * A private nats-server for one test file (nats.js `nst/` shape): temp store, random loopback
 * port, one nkey user per identity with the generated permissions. Throws NATS_SERVER_MISSING
 * with install instructions when the binary is absent.
 */
export async function startTestNats(options: TestNatsOptions = {}): Promise<TestNats> {
  const asyncTraces = options.asyncTraces ?? true;
  const dir = await mkdtemp(join(tmpdir(), 'secai-nats-'));
  const users = await ensureNatsUsers(dir, [
    'appliance',
    'dashboard',
    ...SERVICES.filter((s) => s !== 'appliance'),
  ]);
  const configPath = join(dir, 'nats-server.json');
  const websocket = options.websocket
    ? { port: options.websocket.port ?? 0, allowedOrigins: options.websocket.allowedOrigins ?? [] }
    : undefined;
  const write = (port: number, websocketPort?: number) =>
    writeFile(
      configPath,
      renderServerConfig({
        port,
        storeDir: join(dir, 'jetstream'),
        users,
        ...(websocket
          ? { websocket: { ...websocket, port: websocketPort ?? websocket.port } }
          : {}),
      }),
    );
  await write(0);
  const runDir = join(dir, 'run');
  const connections: NatsConnection[] = [];
  const ctx: TestNats = {
    dir,
    url: '',
    websocketUrl: undefined,
    server: await launchNatsServer({ configPath, runDir }),
    users: new Map(users.map((u) => [u.name, u])),
    async connect(name) {
      const user = ctx.users.get(name);
      if (!user) throw new Error(`no test NATS user ${name}`);
      const nc = await connectAs({ url: ctx.url, user, asyncTraces });
      connections.push(nc);
      return nc;
    },
    async restart() {
      const ws = ctx.websocketUrl ? Number(new URL(ctx.websocketUrl).port) : undefined;
      await write(ctx.server.port, ws);
      ctx.server = await launchNatsServer({ configPath, runDir });
    },
    async cleanup() {
      await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
      await ctx.server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  ctx.url = ctx.server.url;
  ctx.websocketUrl = ctx.server.websocketUrl;
  return ctx;
}

export interface ServiceClient {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  store: EventStore;
}

export interface TestAppliance {
  nats: TestNats;
  pki: Awaited<ReturnType<typeof createTestPki>>;
  /** The admin connection (appliance identity). */
  admin: ServiceClient;
  /** A connection, JetStream handles and event store signed as `service`. */
  /** `liveTrust`: follow the trust bundle in KV (revocations) instead of a fixed copy. */
  client(
    service: string,
    options?: { now?: () => Date; liveTrust?: boolean },
  ): Promise<ServiceClient>;
  cleanup(): Promise<void>;
}

/** nats-server + topology + test PKI + trust bundle in KV: what every int test starts from. */
export async function startTestAppliance(options: TestNatsOptions = {}): Promise<TestAppliance> {
  const nats = await startTestNats(options);
  const pki = await createTestPki();
  const client = async (
    service: string,
    options: { now?: () => Date; liveTrust?: boolean } = {},
  ): Promise<ServiceClient> => {
    const nc = await nats.connect(service);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const trust = options.liveTrust
      ? await TrustCache.open(nc, pki.trust.rootKeyid)
      : TrustCache.fixed(pki.trust);
    const store = new EventStore(js, jsm, {
      signer: pki.signerFor(service),
      trust,
      ...(options.now ? { now: options.now } : {}),
    });
    return { nc, js, jsm, store };
  };
  const admin = await client('appliance');
  await ensureTopology(admin.nc, admin.jsm);
  const kv = await new Kvm(admin.nc).open(KV_BUCKETS.trust);
  await publishTrustBundle(kv, pki.bundle);
  return { nats, pki, admin, client, cleanup: () => nats.cleanup() };
}

/**
 * Polls `predicate` until it holds (never a fixed sleep); rejects after `timeoutMs`. The default
 * is a bound for a loaded machine (the int suite runs many servers on few cores), below the int
 * project's 60 s test timeout so a miss still names what was awaited.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
export * from './containment.js';
export * from './attestation.js';

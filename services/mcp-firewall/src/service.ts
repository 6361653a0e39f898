import type { FastifyInstance } from 'fastify';
import { apiKeyCaller } from '@secai/projections';
import {
  ActivePolicyReader,
  hostProjection,
  streamBounds,
  watchBus,
  type EventStore,
  type HostedProjection,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
} from '@secai/streams';
import { ClientSessions } from './clients.js';
import { Coalescer } from './coalesce.js';
import { maxMessageBytes } from './config.js';
import { natsDecide, type Decide } from './decide.js';
import { Gate } from './gate.js';
import { buildHttp } from './http.js';
import { McpPolicyCache } from './policy.js';
import { firewallProjection, type FirewallDocument } from './projection.js';
import type { BucketLimit } from './rateLimit.js';
import { Sessions } from './sessions.js';
import { LiveState } from './state.js';
import { ToolCatalog } from './toolCatalog.js';
import { Upstreams } from './upstream/upstreams.js';

export interface McpFirewallConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Signs as `mcp-firewall`. */
  store: EventStore;
}

export interface StartMcpFirewallOptions {
  log: Logger;
  outputLimitBytes?: number;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Client transports unused this long are ended; 0 = never swept (tests sweep by hand). */
  idleMs?: number;
  /** The per-session rate limit (default 120 a minute, burst 20). */
  sessionLimit?: BucketLimit;
  /** How decisions are asked (default: the policy engine over NATS). */
  decide?: Decide;
  now?: () => number;
}

export interface RunningMcpFirewall {
  http: FastifyInstance;
  gate: Gate;
  sessions: Sessions;
  catalog: ToolCatalog;
  clients: ClientSessions;
  upstreams: Upstreams;
  state: LiveState;
  projection: HostedProjection<FirewallDocument>;
  /** Stops serving (the HTTP server included) and ends every upstream. */
  stop(): Promise<void>;
}

/** How long the start waits for the projection to catch up with the stream. */
const CATCH_UP_MS = 120_000;

/**
 * Wires the firewall: its projection caught up with the whole stream before anything is served
 * (sessions, taint and pins exactly as recorded), the active policy, the upstreams, the gate and
 * the gateway.
 */
export async function startMcpFirewall(
  conn: McpFirewallConnection,
  options: StartMcpFirewallOptions,
): Promise<RunningMcpFirewall> {
  const { log } = options;
  const outputLimitBytes = options.outputLimitBytes ?? 1024 * 1024;
  const projection = await hostProjection(
    conn.nc,
    conn.js,
    conn.jsm,
    conn.store,
    firewallProjection,
    {
      owner: 'mcp-firewall',
      onError: (err) => log.error({ err }, 'firewall projection failed'),
    },
  );
  const { lastSeq } = await streamBounds(conn.jsm, conn.store.stream);
  await projection.caughtUp(lastSeq, CATCH_UP_MS);
  const state = new LiveState(conn.store, projection.runner.document);

  const reader = new ActivePolicyReader({ js: conn.js, jsm: conn.jsm, store: conn.store, log });
  const policy = new McpPolicyCache(() => reader.current());
  // Set once the catalogue and the client side exist (an upstream connects only after that).
  const relistings = new Coalescer(1000, (err, server) =>
    log.error({ err, server }, 'tools changed upstream: relisting failed'),
  );
  let onToolsChanged: (server: string) => Promise<void> = () => Promise.resolve();
  const upstreams = new Upstreams({
    maxMessageBytes: maxMessageBytes(outputLimitBytes),
    connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    record: async (draft) => {
      await state.append([draft], { expectedSequence: 'any' });
    },
    log,
    onToolsChanged: (server) => relistings.trigger(server, () => onToolsChanged(server)),
    ...(options.now ? { now: options.now } : {}),
  });
  const sessions = new Sessions(state);
  const catalog = new ToolCatalog({ upstreams, state, log });
  const gate = new Gate({
    policy,
    decide:
      options.decide ??
      natsDecide({ nc: conn.nc, signer: conn.store.signer, trust: conn.store.trust, log }),
    upstreams,
    catalog,
    sessions,
    state,
    log,
    outputLimitBytes,
    ...(options.sessionLimit ? { sessionLimit: options.sessionLimit } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  onToolsChanged = async (name) => {
    // Listed again now (a change or a new tool is recorded even if no client lists), then the
    // clients are told.
    const view = await policy.read();
    const server = view.ok ? view.policy.servers.find((s) => s.name === name) : undefined;
    if (view.ok && server) await catalog.refresh(view.policy, [server]);
    await clients.toolsChanged();
  };
  const clients = new ClientSessions({
    gate,
    sessions,
    log,
    ...(options.now ? { now: options.now } : {}),
  });
  // API keys are inference's events: they come from the hosted projection, live.
  const keyCaller = apiKeyCaller(() => projection.runner.document.keys);
  const bus = watchBus(conn.nc);
  const http = buildHttp({
    trust: conn.store.trust,
    bus,
    keyCaller,
    clients,
    sessions,
    catalog,
    policy,
    state,
    log,
  });
  const idleMs = options.idleMs ?? 30 * 60_000;
  const sweeper =
    idleMs > 0
      ? setInterval(() => void clients.sweep(idleMs), Math.min(idleMs, 60_000)).unref()
      : null;

  let stopped = false;
  return {
    http,
    gate,
    sessions,
    catalog,
    clients,
    upstreams,
    state,
    projection,
    /** Ends client transports first (an open SSE stream would hold the HTTP close), then the rest. */
    async stop() {
      if (stopped) return;
      stopped = true;
      if (sweeper) clearInterval(sweeper);
      await clients.closeAll();
      await http.close();
      bus.stop();
      await upstreams.closeAll();
      await projection.stop();
    },
  };
}

import type { FastifyInstance } from 'fastify';
import { apiKeyCaller } from '@secai/projections';
import {
  ActivePolicyReader,
  hostProjection,
  watchBus,
  type EventStore,
  type HostedProjection,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
} from '@secai/streams';
import {
  AdapterRegistry,
  DEFAULT_ADAPTER_LIMITS,
  FILESYSTEM_ADAPTERS,
  type AdapterLimits,
  type ToolAdapter,
} from './adapters/index.js';
import { firewallViewProjection, type FirewallViewDocument } from './callLog.js';
import { engineOverNats, POLICY_RETRY_AFTER_SECONDS, type DecisionAsker } from './engine.js';
import { refusal } from './errors.js';
import { Firewall, newCallId } from './firewall.js';
import { buildHttp } from './http.js';
import { RateLimiter } from './rateLimit.js';
import { eventRecorder } from './record.js';
import { toolPolicyOf, type ToolPolicyView } from './settings.js';
import { openWorkspace, type ResolverHooks, type Workspace } from './workspace/resolve.js';

export interface ToolFirewallConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Signs as `tool-firewall`. */
  store: EventStore;
}

export interface StartToolFirewallOptions {
  /** The workspace root (created 0750 with `user_docs/` and `outputs/` if absent). */
  workspace: string;
  log: Logger;
  limits?: AdapterLimits;
  /** Tests only: another set of adapters, another decision point, hooks in the resolver. */
  adapters?: readonly ToolAdapter[];
  engine?: DecisionAsker;
  hooks?: ResolverHooks;
  /** Milliseconds for the rate limiter (tests run it on a clock of their own). */
  now?: () => number;
}

export interface RunningToolFirewall {
  firewall: Firewall;
  workspace: Workspace;
  adapters: AdapterRegistry;
  /** The API keys and the call log, folded from the stream. */
  view: HostedProjection<FirewallViewDocument>;
  http: FastifyInstance;
  stop(): Promise<void>;
}

/**
 * Wires the firewall: the workspace, the active policy (its rate limits; none = nothing runs),
 * the policy engine over NATS, the API keys and the call log (both projections of the stream),
 * and the gateway.
 */
export async function startToolFirewall(
  conn: ToolFirewallConnection,
  options: StartToolFirewallOptions,
): Promise<RunningToolFirewall> {
  const { log } = options;
  const workspace = await openWorkspace(options.workspace);
  const adapters = new AdapterRegistry(options.adapters ?? FILESYSTEM_ADAPTERS);
  const policy = new ActivePolicyReader({ js: conn.js, jsm: conn.jsm, store: conn.store, log });
  let active = false;
  const policyView = async (): Promise<ToolPolicyView | null> => {
    const read = toolPolicyOf(await policy.current());
    active = read.ok;
    if (!read.ok) log.warn({ problem: read.problem }, 'no tool call runs: no usable policy');
    return read.ok ? read.view : null;
  };
  await policyView().catch(() => null);
  const view = await hostProjection(
    conn.nc,
    conn.js,
    conn.jsm,
    conn.store,
    firewallViewProjection,
    {
      owner: 'tool-firewall',
      onError: (err) => log.error({ err }, 'the firewall view (keys, call log) failed'),
    },
  );
  const keyCaller = apiKeyCaller(() => view.runner.document.keys);
  const bus = watchBus(conn.nc);
  const firewall = new Firewall({
    adapters,
    workspace,
    limits: options.limits ?? DEFAULT_ADAPTER_LIMITS,
    engine: options.engine ?? engineOverNats(conn.nc, conn.store.signer, conn.store.trust),
    policy: async () => {
      const view = await policyView();
      if (!view)
        throw refusal('policy', 'POLICY_UNAVAILABLE', 'no policy is active: no tool call runs', {
          retryAfterSeconds: POLICY_RETRY_AFTER_SECONDS,
        });
      return view;
    },
    limiter: new RateLimiter(),
    recorder: eventRecorder(conn.store, log, newCallId),
    ...(options.now ? { now: options.now } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    log,
  });
  const http = buildHttp({
    firewall,
    adapters,
    policyView,
    hasPolicy: () => active,
    calls: () => view.runner.document.log,
    trust: conn.store.trust,
    bus,
    apiKeys: keyCaller,
    log,
  });
  let stopped = false;
  return {
    firewall,
    workspace,
    adapters,
    view,
    http,
    async stop() {
      if (stopped) return;
      stopped = true;
      bus.stop();
      await view.stop();
    },
  };
}

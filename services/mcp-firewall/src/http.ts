import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceName, TrustStore } from '@secai/contracts';
import { API_KEY_CALLER, createGateway, type BusWatch, type Logger } from '@secai/streams';
import { busHealthOf, PROBLEM_MEDIA_TYPE } from '@secai/streams/http';
import {
  ROUTES,
  type ApproveRequestBody,
  type ClearTaintBody,
  type ServersBody,
  type SessionsBody,
  type ToolsBody,
} from './api.js';
import type { CatalogTool } from './catalog.js';
import type { ClientSessions } from './clients.js';
import { McpFirewallError } from './errors.js';
import { toolRecordOf } from './pinsProjection.js';
import type { McpPolicyCache } from './policy.js';
import type { Sessions } from './sessions.js';
import type { LiveState } from './state.js';
import { label } from './text.js';
import type { ToolCatalog } from './toolCatalog.js';
import type { ToolVersion } from './toolVersion.js';

/**
 * Who may call what. MCP clients: the agent, the UI, the CLI (its stdio relay) and a person's API
 * key. The operator's routes (approve, clear taint) are for the CLI and the UI, which name the
 * person in the body; the views also for the appliance.
 */
export const SCOPES = {
  mcp: ['agent', 'ui', 'cli', API_KEY_CALLER],
  read: ['cli', 'ui', 'appliance'],
  operate: ['cli', 'ui'],
} as const satisfies Record<string, readonly (ServiceName | typeof API_KEY_CALLER)[]>;

export interface HttpDeps {
  trust: TrustStore;
  bus: Pick<BusWatch, 'connected' | 'health'>;
  keyCaller: (key: string) => string | null;
  clients: ClientSessions;
  sessions: Sessions;
  catalog: ToolCatalog;
  policy: McpPolicyCache;
  state: LiveState;
  log?: Logger;
}

/** Refusals of the API routes as problem documents carrying the firewall's detail. */
function refuse(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof McpFirewallError)) throw err;
  const { ruleId, decisionId, reasons, retryAfterSeconds } = err.detail;
  if (retryAfterSeconds) void reply.header('retry-after', String(retryAfterSeconds));
  return reply
    .code(err.status)
    .type(PROBLEM_MEDIA_TYPE)
    .send({
      type: `urn:secai:problem:${err.code}`,
      title: err.code,
      status: err.status,
      code: err.code,
      detail: err.message.slice(0, 1024),
      ...(ruleId !== undefined ? { ruleId } : {}),
      ...(decisionId !== undefined ? { decisionId } : {}),
      ...(reasons !== undefined ? { reasons: reasons.slice(0, 16) } : {}),
    });
}

export function buildHttp(deps: HttpDeps): FastifyInstance {
  return createGateway({
    service: 'mcp-firewall',
    trust: deps.trust,
    scopes: SCOPES,
    bus: deps.bus,
    apiKeys: deps.keyCaller,
    // Tool arguments can be long (a file to write); the JSON depth limit still applies.
    bodyLimit: 4 * 1024 * 1024,
    ...(deps.log ? { log: deps.log } : {}),
    routes: (api) => routes(api, deps),
  });
}

function versionView(v: ToolVersion | null) {
  return v === null
    ? null
    : {
        digest: v.digest,
        description: v.description.text,
        inputSchemaDigest: v.inputSchemaDigest,
        outputSchemaDigest: v.outputSchemaDigest,
      };
}

function toolView(deps: HttpDeps, t: CatalogTool) {
  const pinned = toolRecordOf(deps.state.doc.pins, t.server, t.name).pinned;
  return {
    server: t.server,
    name: label(t.name, 256),
    state: t.state.state,
    reasons: t.state.state === 'refused' ? t.state.reasons : [],
    observed: versionView(t.state.version),
    pinned: pinned
      ? { version: versionView(pinned.version)!, operator: pinned.operator, at: pinned.at }
      : null,
  };
}

function routes(app: FastifyInstance, deps: HttpDeps): void {
  // The session owner as events name it: `service:<name>` or `key:<name>`.
  const caller = (request: FastifyRequest) => {
    const c = request.caller!;
    return c.startsWith('key:') ? c : `service:${c}`;
  };

  app.get('/health', { config: { public: true }, schema: ROUTES.health }, async (_req, reply) => {
    const { status, httpStatus, bus } = busHealthOf(deps.bus);
    const view = await deps.policy.read();
    return reply.code(view.ok ? httpStatus : 503).send({
      status: view.ok ? status : 'degraded',
      policy: view.ok ? 'active' : 'missing',
      servers: view.ok ? view.policy.servers.length : 0,
      sessions: deps.clients.count,
      bus,
    });
  });

  const mcp = { scope: 'mcp' };
  app.post('/mcp', { config: mcp, schema: ROUTES.mcpPost }, (request, reply) =>
    deps.clients.handle(request, reply, caller(request)),
  );
  app.get('/mcp', { config: mcp, schema: ROUTES.mcpGet }, (request, reply) =>
    deps.clients.handle(request, reply, caller(request)),
  );
  app.delete('/mcp', { config: mcp, schema: ROUTES.mcpDelete }, (request, reply) =>
    deps.clients.handle(request, reply, caller(request)),
  );

  app.get(
    '/api/v1/servers',
    { config: { scope: 'read', busOptional: true }, schema: ROUTES.servers },
    async (_req, reply) => {
      const view = await deps.policy.read();
      const body: ServersBody = {
        policyDigest: view.ok ? view.digest : null,
        problem: view.ok ? null : view.problem,
        servers: view.ok
          ? view.policy.servers.map((s) => {
              const tools = deps.catalog.toolsOf(s.name);
              const count = (state: string) => tools.filter((t) => t.state.state === state).length;
              return {
                name: s.name,
                trust: s.trust_level,
                transport: s.command !== undefined ? ('stdio' as const) : ('http' as const),
                endpoint:
                  s.command !== undefined ? s.command.join(' ').slice(0, 1024) : (s.url ?? ''),
                tools: {
                  listed: count('listed'),
                  refused: count('refused'),
                  changed: count('changed'),
                },
              };
            })
          : [],
      };
      return reply.send(body);
    },
  );

  app.get<{ Querystring: { server?: string } }>(
    '/api/v1/tools',
    { config: { scope: 'read', busOptional: true }, schema: ROUTES.tools },
    (request, reply) => {
      const body: ToolsBody = {
        tools: deps.catalog.toolsOf(request.query.server).map((t) => toolView(deps, t)),
      };
      return reply.send(body);
    },
  );

  app.get(
    '/api/v1/sessions',
    { config: { scope: 'read', busOptional: true }, schema: ROUTES.sessions },
    (_req, reply) => {
      const body: SessionsBody = {
        sessions: deps.sessions.list().map((s) => ({
          id: s.id,
          caller: s.caller,
          client: s.client,
          openedAt: s.openedAt,
          closedAt: s.closedAt,
          connected: deps.clients.isLive(s.id),
          taint: s.taint,
          lastAt: s.lastAt,
        })),
      };
      return reply.send(body);
    },
  );

  app.post<{ Body: ApproveRequestBody }>(
    '/api/v1/approve',
    { config: { scope: 'operate' }, schema: ROUTES.approve },
    async (request, reply) => {
      try {
        const { server, tool, all, digest, operator } = request.body;
        if ((tool === undefined) === (all !== true))
          throw new McpFirewallError('ARGUMENTS_INVALID', 'name one tool, or all: true (not both)');
        const view = await deps.policy.read();
        if (!view.ok) throw new McpFirewallError('POLICY_UNAVAILABLE', view.problem);
        const result = await deps.catalog.approve(view.policy, {
          server,
          operator,
          ...(tool !== undefined ? { tool } : {}),
          ...(all === true ? { all } : {}),
          ...(digest !== undefined ? { digest } : {}),
        });
        return reply.send(result);
      } catch (err) {
        return refuse(reply, err);
      }
    },
  );

  app.delete<{ Params: { id: string }; Body: ClearTaintBody }>(
    '/api/v1/sessions/:id/taint',
    { config: { scope: 'operate' }, schema: ROUTES.clearTaint },
    async (request, reply) => {
      try {
        const { operator, reason, labels } = request.body;
        const cleared = await deps.sessions.clearTaint(
          request.params.id,
          operator,
          reason,
          labels ?? [],
        );
        return reply.send({ session: request.params.id, cleared });
      } catch (err) {
        return refuse(reply, err);
      }
    },
  );
}

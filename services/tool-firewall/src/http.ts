import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceName, TrustStore } from '@secai/contracts';
import { API_KEY_CALLER, createGateway, type BusWatch, type Logger } from '@secai/streams';
import { PROBLEM_MEDIA_TYPE, busHealthOf } from '@secai/streams/http';
import { BODY_LIMIT, ROUTES, type CallProblem, type NativeCall, type OpenAiCall } from './api.js';
import { openAiNameOf, type AdapterRegistry } from './adapters/index.js';
import type { CallLogDocument } from './callLog.js';
import type { CallRefusal, Firewall } from './firewall.js';
import type { ToolPolicyView } from './settings.js';

/**
 * Who may call what. The agent, the operator's CLI and UI, and a person's own OpenAI client
 * (an API key) may run tools; inference may not (it returns tool calls, it never runs them).
 * Only operators read the call log (it names every caller).
 */
export const SCOPES = {
  call: ['agent', 'cli', 'ui', API_KEY_CALLER],
  calls: ['cli', 'ui'],
} as const satisfies Record<string, readonly (ServiceName | typeof API_KEY_CALLER)[]>;

/** Headers that carry what an OpenAI tool message has no member for. */
export const CALL_HEADERS = {
  callId: 'x-secai-call-id',
  truncated: 'x-secai-truncated',
  redactions: 'x-secai-redactions',
} as const;

export interface HttpDeps {
  firewall: Pick<Firewall, 'call'>;
  adapters: AdapterRegistry;
  /** The active policy's view, or null when none is active. */
  policyView: () => Promise<ToolPolicyView | null>;
  hasPolicy: () => boolean;
  calls: () => CallLogDocument;
  trust: TrustStore;
  bus: Pick<BusWatch, 'connected' | 'health'>;
  apiKeys: (key: string) => string | null;
  log?: Logger;
}

export function buildHttp(deps: HttpDeps): FastifyInstance {
  return createGateway({
    service: 'tool-firewall',
    trust: deps.trust,
    scopes: SCOPES,
    bus: deps.bus,
    apiKeys: deps.apiKeys,
    bodyLimit: BODY_LIMIT,
    ...(deps.log ? { log: deps.log } : {}),
    routes: (api) => routes(api, deps),
  });
}

function isOpenAi(body: NativeCall | OpenAiCall): body is OpenAiCall {
  return (body as OpenAiCall).type === 'function';
}

/** A refusal as its problem document, with the evidence it was refused on. */
function sendRefusal(reply: FastifyReply, r: CallRefusal): FastifyReply {
  const { error } = r;
  const body: CallProblem = {
    type: `urn:secai:problem:${error.code}`,
    title: error.code,
    status: error.status,
    code: error.code,
    detail:
      error.status >= 500 && error.code === 'TOOL_FAILED'
        ? `${error.message}; call ${r.callId}`
        : error.message,
    callId: r.callId,
    tool: r.tool,
    stage: error.details.stage ?? null,
    ruleId: r.deciding?.ruleId ?? null,
    decisionId: r.deciding?.decisionId ?? null,
    inputDigest: r.deciding?.inputDigest ?? null,
    decisionIds: r.decisions.flatMap((d) => (d.decisionId ? [d.decisionId] : [])),
    eventId: r.eventId,
  };
  if (error.details.retryAfterSeconds !== undefined)
    void reply.header('retry-after', String(error.details.retryAfterSeconds));
  return reply.code(error.status).type(PROBLEM_MEDIA_TYPE).send(body);
}

function routes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/health', { config: { public: true }, schema: ROUTES.health }, async (_req, reply) => {
    const { status, httpStatus, bus } = busHealthOf(deps.bus);
    // Read now (a policy loaded since the last call counts); the last answer if the bus is down.
    if (deps.bus.connected()) await deps.policyView().catch(() => null);
    const policy = deps.hasPolicy() ? 'active' : 'missing';
    return reply.code(policy === 'active' ? httpStatus : 503).send({
      status: policy === 'active' ? status : 'degraded',
      policy,
      adapters: deps.adapters.list().length,
      bus,
    });
  });

  app.get(
    '/api/v1/tools',
    { config: { scope: 'call' }, schema: ROUTES.tools },
    async (_req, reply) => {
      const view = await deps.policyView();
      return reply.send({
        policyDigest: view?.policyDigest ?? null,
        tools: deps.adapters.list().map((a) => ({
          name: a.name,
          description: a.description,
          arguments: a.arguments,
          paths: a.paths.map((p) => ({ name: p.name, access: p.access, target: p.target })),
          policy: view?.denied.has(a.name)
            ? ('denied' as const)
            : view?.allowed.has(a.name)
              ? ('allowed' as const)
              : ('not_listed' as const),
          allowedPaths: [...(view?.allowed.get(a.name) ?? [])],
          openai: {
            type: 'function' as const,
            function: {
              name: openAiNameOf(a.name),
              description: a.description,
              parameters: a.arguments,
            },
          },
        })),
      });
    },
  );

  app.post(
    '/api/v1/tools/call',
    { config: { scope: 'call' }, schema: ROUTES.call },
    async (request: FastifyRequest<{ Body: NativeCall | OpenAiCall }>, reply) => {
      const body = request.body;
      const caller = request.caller!;
      if (isOpenAi(body)) {
        const outcome = await deps.firewall.call({
          caller,
          tool: deps.adapters.toolOfFunction(body.function.name),
          argumentText: body.function.arguments,
          callId: body.id,
        });
        if (!outcome.ok) return sendRefusal(reply, outcome);
        void reply.header(CALL_HEADERS.callId, outcome.callId);
        void reply.header(CALL_HEADERS.truncated, String(outcome.truncated));
        void reply.header(CALL_HEADERS.redactions, JSON.stringify(outcome.redactions));
        return reply.send({ role: 'tool', tool_call_id: body.id, content: outcome.output });
      }
      const outcome = await deps.firewall.call({
        caller,
        tool: body.tool,
        arguments: body.arguments,
        ...(body.callId !== undefined ? { callId: body.callId } : {}),
      });
      if (!outcome.ok) return sendRefusal(reply, outcome);
      const { ok: _ok, ...result } = outcome;
      return reply.send(result);
    },
  );

  app.get(
    '/api/v1/calls',
    { config: { scope: 'calls', busOptional: true }, schema: ROUTES.calls },
    (request: FastifyRequest<{ Querystring: { limit?: string } }>, reply) => {
      const limit = Number(request.query.limit ?? '50');
      const calls = deps.calls().calls;
      return reply.send({ calls: calls.slice(-limit).reverse() });
    },
  );
}

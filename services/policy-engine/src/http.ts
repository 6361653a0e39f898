import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  COMMANDS,
  MAX_DECISION_REQUEST_BYTES,
  isServiceName,
  type DecisionResponseData,
  sha256Hex,
  type ServiceName,
  type TrustStore,
} from '@secai/contracts';
import { createGateway, sendProblem, type BusWatch, type Logger } from '@secai/streams';
import { busHealthOf, jsonTooDeep } from '@secai/streams/http';
import {
  MAX_BATCH,
  ROUTES,
  type HealthResponse,
  type NoPolicyHealth,
  type PolicyInvalidProblem,
  type PolicyResponse,
  type RefusedDecisionProblem,
  type StatsResponse,
} from './api.js';
import type { PolicyEngine } from './engine.js';
import { MAX_REQUEST_DEPTH, RefusedBody } from './normalize.js';
import type { PolicyHost } from './policyHost.js';
import type { DecisionRecorder } from './decisionLog.js';

/** Who may call what (ARCHITECTURE §2): every gate decides; operators read and reload. */
export const SCOPES = {
  // Exactly the callers of the NATS decide command: one list, two transports.
  decide: COMMANDS['policy-engine.decide'].callers,
  read: ['ui', 'cli', 'appliance'],
  admin: ['cli', 'appliance'],
} as const satisfies Record<string, readonly ServiceName[]>;

export { MAX_BATCH };

// The decide bodies are documented by their schema but validated by the handler, so that an
// invalid request still becomes a recorded deny (and a 400 carrying it), never a bare refusal.
const documentedOnly = { validatorCompiler: () => () => true };

export interface HttpDeps {
  engine: PolicyEngine;
  host: PolicyHost;
  recorder: DecisionRecorder;
  trust: TrustStore;
  /**
   * The engine's bus connection (`watchBus(nc)`): /health reports it, and while it is down the
   * routes that record (decide, batch, reload) answer 503 `BUS_UNAVAILABLE` at once: a deny.
   */
  bus: Pick<BusWatch, 'connected' | 'health'>;
  log?: Logger;
  now?: () => Date;
}

/**
 * The policy engine's gateway on 127.0.0.1:8500. Decide requests are parsed here rather than by
 * a fastify schema, so that a malformed or invalid request still becomes a recorded deny (and a
 * 400 problem) instead of vanishing in the validator.
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  return createGateway({
    service: 'policy-engine',
    trust: deps.trust,
    scopes: SCOPES,
    bodyLimit: MAX_DECISION_REQUEST_BYTES * MAX_BATCH,
    bus: deps.bus,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    routes: (api) => routes(api, deps),
  });
}

function routes(app: FastifyInstance, deps: HttpDeps): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );

  const decideOne = async (value: unknown, caller: string): Promise<DecisionResponseData> => {
    const outcome = deps.engine.decide(value, caller as ServiceName);
    const { eventId, decisionId } = await deps.recorder.record(outcome.event);
    return { ...outcome.response, eventId, decisionId };
  };

  type Parsed =
    | { ok: true; value: unknown }
    | {
        ok: false;
        code: 'REQUEST_MALFORMED' | 'REQUEST_TOO_DEEP';
        problem: string;
        digest: string;
      };
  /**
   * The body as JSON, its depth bounded on the bytes before parsing (`depth` levels: a batch
   * wraps its requests in two more). A refusal keeps the digest of what was received.
   */
  const parse = (body: unknown, depth: number): Parsed => {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    const digest = () => `sha256:${sha256Hex(bytes)}`;
    if (jsonTooDeep(bytes, depth)) {
      const problem = `the body nests deeper than ${depth} levels`;
      return { ok: false, code: 'REQUEST_TOO_DEEP', problem, digest: digest() };
    }
    try {
      return { ok: true, value: JSON.parse(bytes.toString('utf8')) as unknown };
    } catch {
      const problem = 'the body is not valid JSON';
      return { ok: false, code: 'REQUEST_MALFORMED', problem, digest: digest() };
    }
  };

  app.get('/health', { config: { public: true }, schema: ROUTES.health }, (_req, reply) => {
    const snapshot = deps.engine.snapshot;
    const { status, httpStatus, bus } = busHealthOf(deps.bus);
    if (!snapshot) {
      const down: NoPolicyHealth = {
        status: 'no_policy',
        detail: 'no valid policy is loaded: every decision is deny',
        policyDigest: null,
        bus,
      };
      return reply.code(503).send(down);
    }
    const body: HealthResponse = {
      status,
      policyDigest: snapshot.digest,
      policyVersion: snapshot.version,
      bus,
    };
    return reply.code(httpStatus).send(body);
  });

  app.post(
    '/api/v1/decide',
    {
      config: { scope: 'decide' },
      bodyLimit: MAX_DECISION_REQUEST_BYTES,
      schema: ROUTES.decide,
      ...documentedOnly,
    },
    async (request, reply) => {
      const caller = request.caller!;
      if (!isServiceName(caller)) return sendProblem(reply, 403, 'SCOPE_DENIED', 'unknown caller');
      const parsed = parse(request.body, MAX_REQUEST_DEPTH);
      // A body that cannot be read is still decided: a recorded deny, with the refusal as evidence.
      const value = parsed.ok ? parsed.value : new RefusedBody(parsed.problem, parsed.digest);
      const decided = await decideOne(value, caller).catch((err: unknown) => {
        deps.log?.error({ err }, 'a decision could not be recorded');
        return null;
      });
      if (!decided)
        return sendProblem(
          reply,
          503,
          'DECISION_NOT_RECORDED',
          'the decision log is unavailable: deny',
        );
      if (!parsed.ok) return problemWithDecision(reply, parsed.code, parsed.problem, decided);
      if (decided.evidence.ruleId === 'request.invalid')
        return problemWithDecision(reply, 'REQUEST_INVALID', decided.reason, decided);
      return reply.send(decided);
    },
  );

  app.post(
    '/api/v1/decide/batch',
    { config: { scope: 'decide' }, schema: ROUTES.batch, ...documentedOnly },
    async (request, reply) => {
      const caller = request.caller!;
      const parsed = parse(request.body, MAX_REQUEST_DEPTH + 2);
      if (!parsed.ok) return sendProblem(reply, 400, parsed.code, parsed.problem);
      const list = (parsed.value as { requests?: unknown } | null)?.requests;
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH) {
        return sendProblem(
          reply,
          400,
          'REQUEST_INVALID',
          `body must be { requests: [1..${MAX_BATCH} decide requests] }`,
        );
      }
      // Decided in order and recorded together (group commit): all are answered, or none.
      const settled = await Promise.allSettled(list.map((item) => decideOne(item, caller)));
      const failure = settled.find((s) => s.status === 'rejected');
      if (failure) {
        deps.log?.error({ err: failure.reason }, 'a decision could not be recorded');
        return sendProblem(
          reply,
          503,
          'DECISION_NOT_RECORDED',
          'the decision log is unavailable: deny',
        );
      }
      const results = settled.map((s) => (s as PromiseFulfilledResult<DecisionResponseData>).value);
      return reply.send({ results });
    },
  );

  // Reading memory needs no bus.
  const reads = { scope: 'read', busOptional: true };
  app.get('/api/v1/policy', { config: reads, schema: ROUTES.policy }, (_req, reply) => {
    const s = deps.engine.snapshot;
    if (!s) return sendProblem(reply, 503, 'NO_POLICY', 'no valid policy is loaded');
    const body: PolicyResponse = {
      digest: s.digest,
      version: s.version,
      files: s.files,
      documents: s.documents,
    };
    return reply.send(body);
  });

  app.get('/api/v1/stats', { config: reads, schema: ROUTES.stats }, (_req, reply) => {
    const body: StatsResponse = {
      policyDigest: deps.engine.snapshot?.digest ?? null,
      ...deps.engine.stats,
    };
    return reply.send(body);
  });

  app.post(
    '/api/v1/reload',
    { config: { scope: 'admin' }, schema: ROUTES.reload },
    async (_req, reply) => {
      const result = await deps.host.reload('api');
      if (!result.ok) {
        const problem: PolicyInvalidProblem = {
          type: 'urn:secai:problem:POLICY_INVALID',
          title: 'POLICY_INVALID',
          status: 422,
          code: 'POLICY_INVALID',
          detail: 'the policy was refused; the previous policy stays active',
          problems: result.problems.slice(0, 64),
          activeDigest: result.activeDigest,
        };
        return reply.code(422).type('application/problem+json').send(problem);
      }
      return reply.send({ digest: result.digest, changed: result.changed });
    },
  );
}

function problemWithDecision(
  reply: FastifyReply,
  code: string,
  detail: string,
  decided: DecisionResponseData,
) {
  const problem: RefusedDecisionProblem = {
    type: `urn:secai:problem:${code}`,
    title: code,
    status: 400,
    code,
    detail: detail.slice(0, 1024),
    decision: decided,
  };
  return reply.code(400).type('application/problem+json').send(problem);
}

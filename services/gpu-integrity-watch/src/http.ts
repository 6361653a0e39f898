import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServiceName, TrustStore } from '@secai/contracts';
import { createGateway, sendProblem, type BusWatch, type Logger } from '@secai/streams';
import { busHealthOf } from '@secai/streams/http';
import {
  ROUTES,
  type AttestStateResponse,
  type BaselineRequest,
  type BaselineResponse,
  type CheckResponse,
  type HistoryQuery,
  type StatusResponse,
} from './api.js';
import { GpuWatchError } from './errors.js';
import type { GpuWatch } from './watch.js';

/**
 * Who may call what (ARCHITECTURE §2). The ceremony is the sensitive one: a baseline captured
 * after a tampering hides it, so only the operator's front ends (the CLI and the UI, which name
 * the person) may record one; the appliance supervisor and the attestor may not. The attestor
 * reads its state and nothing else; the recorder learns everything from the bus.
 */
export const SCOPES = {
  read: ['cli', 'ui', 'appliance'],
  check: ['cli', 'ui', 'appliance'],
  baseline: ['cli', 'ui'],
  attest: ['runtime-attestor', 'cli', 'ui', 'appliance'],
} as const satisfies Record<string, readonly ServiceName[]>;

export const DEFAULT_HISTORY_LIMIT = 100;

export interface HttpDeps {
  watch: Pick<GpuWatch, 'status' | 'history' | 'attestState' | 'cycle' | 'ceremony' | 'policyView'>;
  trust: TrustStore;
  /**
   * The service's bus connection (`watchBus(nc)`): /health reports it, and while it is down the
   * routes that record (check, baseline) answer 503 `BUS_UNAVAILABLE` at once.
   */
  bus: Pick<BusWatch, 'connected' | 'health'>;
  log?: Logger;
  now?: () => Date;
}

/** The one mapping from the watch's coded errors to HTTP. */
function sendWatchError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof GpuWatchError) {
    switch (err.code) {
      case 'POLICY_UNAVAILABLE':
        return sendProblem(reply, 409, err.code, `no valid policy is active: ${err.message}`);
      case 'OPERATOR_RESERVED':
        return sendProblem(reply, 400, err.code, err.message);
      case 'WATCH_STOPPED':
        return sendProblem(reply, 503, err.code, err.message);
    }
  }
  throw err;
}

/**
 * The watch's gateway on 127.0.0.1:8495: health (public), status, history, a cycle on request,
 * the baseline ceremony and the attest state. Every error is a problem document.
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  return createGateway({
    service: 'gpu-integrity-watch',
    trust: deps.trust,
    scopes: SCOPES,
    bus: deps.bus,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    routes: (api) => routes(api, deps),
  });
}

function routes(app: FastifyInstance, deps: HttpDeps): void {
  const { watch } = deps;

  app.get('/health', { config: { public: true }, schema: ROUTES.health }, (_req, reply) => {
    const s = watch.status();
    const policy = watch.policyView();
    const { status, httpStatus, bus } = busHealthOf(deps.bus);
    return reply.code(httpStatus).send({
      status,
      watching: policy.active,
      policyProblem: policy.problem,
      lastCycle:
        s.verdict === 'unknown' || s.lastCycleAt === null
          ? null
          : { cycle: s.cycle, at: s.lastCycleAt, verdict: s.verdict },
      bus,
    });
  });

  // Status, history and the attest state are the watch's memory: read while the bus is down.
  app.get(
    '/api/v1/status',
    { config: { scope: 'read', busOptional: true }, schema: ROUTES.status },
    (_req, reply) => {
      const body: StatusResponse = watch.status();
      return reply.send(body);
    },
  );

  app.get<{ Querystring: HistoryQuery }>(
    '/api/v1/history',
    { config: { scope: 'read', busOptional: true }, schema: ROUTES.history },
    (request, reply) => {
      const limit =
        request.query.limit === undefined ? DEFAULT_HISTORY_LIMIT : Number(request.query.limit);
      const entries = watch.history(limit);
      return reply.send({ entries, count: entries.length, trend: watch.status().trend });
    },
  );

  app.post(
    '/api/v1/check',
    { config: { scope: 'check' }, schema: ROUTES.check },
    async (request, reply) => {
      deps.log?.info({ caller: request.caller }, 'GPU check requested over HTTP');
      try {
        const body: CheckResponse = await watch.cycle('request');
        return await reply.send(body);
      } catch (err) {
        return sendWatchError(reply, err);
      }
    },
  );

  app.post<{ Body: BaselineRequest }>(
    '/api/v1/baseline',
    { config: { scope: 'baseline' }, schema: ROUTES.baseline },
    async (request, reply) => {
      const { operator, reason } = request.body;
      deps.log?.info({ caller: request.caller, operator }, 'GPU baseline ceremony requested');
      try {
        const body: BaselineResponse = await watch.ceremony({ operator, reason });
        return await reply.code(201).send(body);
      } catch (err) {
        return sendWatchError(reply, err);
      }
    },
  );

  app.get(
    '/api/v1/attest-state',
    { config: { scope: 'attest', busOptional: true }, schema: ROUTES.attestState },
    (_req, reply) => {
      const body: AttestStateResponse = watch.attestState();
      return reply.send(body);
    },
  );
}

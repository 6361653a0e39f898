import type { FastifyInstance } from 'fastify';
import { isServiceName, type ServiceName, type TrustStore } from '@secai/contracts';
import { createGateway, sendProblem, type BusWatch, type Logger } from '@secai/streams';
import { busHealthOf } from '@secai/streams/http';
import {
  ROUTES,
  type AttestBody,
  type AttestResponse,
  type EnrolmentResponse,
  type HealthResponse,
  type StateResponse,
} from './api.js';
import { AttestorError, type Attestor } from './attestor.js';
import { outcomeOf, verifyAnswer } from './decider.js';

/** Who may call what (ARCHITECTURE §2): the same callers as `runtime-attestor.attest`. */
export const SCOPES = {
  read: ['appliance', 'cli', 'ui', 'incident-recorder'],
  attest: ['appliance', 'cli', 'ui', 'incident-recorder'],
} as const satisfies Record<string, readonly ServiceName[]>;

export interface HttpDeps {
  attestor: Pick<
    Attestor,
    'latest' | 'mode' | 'policy' | 'profile' | 'enrolmentProblem' | 'readBundle' | 'attest'
  >;
  trust: TrustStore;
  /** A result older than this does not satisfy the gate (null: no limit, periodic refresh off). */
  maxAgeMs: number | null;
  /**
   * The service's bus connection (`watchBus(nc)`): /health reports it, and while it is down the
   * routes that record answer 503 `BUS_UNAVAILABLE` at once.
   */
  bus: Pick<BusWatch, 'connected' | 'health'>;
  log?: Logger;
  now?: () => Date;
}

/**
 * The attestor's gateway on 127.0.0.1:8505: health, the boot gate (`verify`), the latest signed
 * state, the enrolment, and a synchronous attestation. Every error is a problem document.
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  return createGateway({
    service: 'runtime-attestor',
    trust: deps.trust,
    scopes: SCOPES,
    bus: deps.bus,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    routes: (api) => routes(api, deps),
  });
}

function routes(app: FastifyInstance, deps: HttpDeps): void {
  const now = deps.now ?? (() => new Date());
  const { attestor } = deps;
  // The gate, the latest result and the enrolment are memory and disk: read while the bus is
  // down (the gate's own freshness bound still closes it if no new result can be recorded).
  const reads = { scope: 'read', busOptional: true };

  app.get('/health', { config: { public: true }, schema: ROUTES.health }, (_req, reply) => {
    const latest = attestor.latest;
    const { status, httpStatus, bus } = busHealthOf(deps.bus);
    const body: HealthResponse = {
      status,
      mode: attestor.mode,
      outcome: latest ? outcomeOf(latest.type) : 'pending',
      lastEventId: latest?.eventId ?? null,
      bus,
    };
    return reply.code(httpStatus).send(body);
  });

  app.get('/api/v1/verify', { config: reads, schema: ROUTES.verify }, (_req, reply) =>
    reply.send(verifyAnswer(attestor.policy, attestor.mode, attestor.latest, now(), deps.maxAgeMs)),
  );

  app.get('/api/v1/state', { config: reads, schema: ROUTES.state }, async (_req, reply) => {
    const latest = attestor.latest;
    if (!latest)
      return sendProblem(reply, 404, 'NO_ATTESTATION', 'no attestation has been recorded yet');
    const body: StateResponse = {
      eventId: latest.eventId,
      seq: latest.seq,
      type: latest.type,
      event: latest.event,
      envelope: latest.envelope,
      bundle: await attestor.readBundle(latest.data.bundleDigest),
    };
    return reply.send(body);
  });

  app.get('/api/v1/enrolment', { config: reads, schema: ROUTES.enrolment }, (_req, reply) => {
    const p = attestor.profile;
    if (!p)
      return sendProblem(
        reply,
        404,
        'NOT_ENROLLED',
        attestor.enrolmentProblem ?? 'this host is not enrolled',
      );
    const body: EnrolmentResponse = {
      ...p.enrolment,
      akHandle: p.akHandle,
      akPublicPem: p.akPublicPem,
      tcti: p.tcti,
      enrolledAt: p.enrolledAt,
      eventId: p.eventId,
    };
    return reply.send(body);
  });

  app.post<{ Body: AttestBody | undefined }>(
    '/api/v1/attest',
    { config: { scope: 'attest' }, schema: ROUTES.attest },
    async (request, reply) => {
      const body = request.body ?? {};
      const caller = request.caller;
      try {
        const result = await attestor.attest({
          requestedBy: caller !== null && isServiceName(caller) ? caller : null,
          ...(body.nonce !== undefined ? { nonce: body.nonce } : {}),
        });
        const answer: AttestResponse = {
          outcome: result.outcome,
          eventId: result.eventId,
          seq: result.seq,
          mode: result.data.mode,
          nonce: result.data.nonce,
          policySatisfied: result.data.policySatisfied,
          reasons: result.data.reasons ?? [],
          event: result.stored.event,
        };
        return reply.send(answer);
      } catch (err) {
        if (err instanceof AttestorError) return sendProblem(reply, 503, err.code, err.message);
        throw err;
      }
    },
  );
}

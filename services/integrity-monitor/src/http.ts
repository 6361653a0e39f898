import type { FastifyInstance } from 'fastify';
import type { ServiceName, TrustStore } from '@secai/contracts';
import { createGateway, type BusWatch, type Logger } from '@secai/streams';
import { busHealthOf } from '@secai/streams/http';
import { ROUTES, type ScanResponse, type StatusResponse, type ViolationsQuery } from './api.js';
import type { IntegrityMonitor } from './monitor.js';

/** Who may call what (ARCHITECTURE §2); `scan` mirrors the callers of `integrity-monitor.scan`. */
export const SCOPES = {
  read: ['cli', 'ui', 'incident-recorder', 'appliance', 'runtime-attestor'],
  scan: ['cli', 'appliance', 'incident-recorder'],
} as const satisfies Record<string, readonly ServiceName[]>;

export interface HttpDeps {
  monitor: Pick<IntegrityMonitor, 'status' | 'violations' | 'scan'>;
  trust: TrustStore;
  /**
   * The service's bus connection (`watchBus(nc)`): /health reports it, and while it is down the
   * routes that record answer 503 `BUS_UNAVAILABLE` at once.
   */
  bus: Pick<BusWatch, 'connected' | 'health'>;
  log?: Logger;
  now?: () => Date;
}

/**
 * The monitor's gateway on 127.0.0.1:8510: health (public), status, open violations, and a scan
 * on request. Rebaselining is not here: it is the operator ceremony on the bus (cli only).
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  return createGateway({
    service: 'integrity-monitor',
    trust: deps.trust,
    scopes: SCOPES,
    bus: deps.bus,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    routes: (api) => routes(api, deps),
  });
}

function routes(app: FastifyInstance, deps: HttpDeps): void {
  const { monitor } = deps;

  app.get('/health', { config: { public: true }, schema: ROUTES.health }, (_req, reply) => {
    const s = monitor.status();
    const { status, httpStatus, bus } = busHealthOf(deps.bus);
    return reply
      .code(httpStatus)
      .send({ status, state: s.state, violationCount: s.violationCount, bus });
  });

  // Status and violations are the monitor's memory: read while the bus is down.
  const reads = { scope: 'read', busOptional: true };
  app.get('/api/v1/status', { config: reads, schema: ROUTES.status }, (_req, reply) => {
    const body: StatusResponse = monitor.status();
    return reply.send(body);
  });

  app.get<{ Querystring: ViolationsQuery }>(
    '/api/v1/violations',
    { config: reads, schema: ROUTES.violations },
    (request, reply) => {
      const violations = monitor.violations(request.query.pathClass);
      return reply.send({ violations, count: violations.length });
    },
  );

  app.post(
    '/api/v1/scan',
    { config: { scope: 'scan' }, schema: ROUTES.scan },
    async (request, reply) => {
      deps.log?.info({ caller: request.caller }, 'scan requested over HTTP');
      const { violations: violationCount, ...summary } = await monitor.scan('request');
      const body: ScanResponse = { ...summary, violationCount, violations: monitor.violations() };
      return reply.send(body);
    },
  );
}

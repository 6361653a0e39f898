import type { FastifyInstance } from 'fastify';
import { PATH_CLASSES, type ServiceName, type TrustStore } from '@secai/contracts';
import { createGateway, type Logger } from '@secai/streams';
import type { IntegrityMonitor } from './monitor.js';
import type { PathClassName } from './records.js';

/** Who may call what (ARCHITECTURE §2); `scan` mirrors the callers of `integrity-monitor.scan`. */
export const SCOPES = {
  read: ['cli', 'ui', 'incident-recorder', 'appliance', 'runtime-attestor'],
  scan: ['cli', 'appliance', 'incident-recorder'],
} as const satisfies Record<string, readonly ServiceName[]>;

export interface HttpDeps {
  monitor: IntegrityMonitor;
  trust: TrustStore;
  log?: Logger;
  now?: () => Date;
}

/**
 * The monitor's gateway on 127.0.0.1:8510: health (public), status, open violations, and a scan
 * on request. Rebaselining is not here: it is the operator ceremony on the bus (cli only).
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  const app = createGateway({
    service: 'integrity-monitor',
    trust: deps.trust,
    scopes: SCOPES,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  const { monitor } = deps;

  app.get('/health', { config: { public: true } }, (_req, reply) => {
    const s = monitor.status();
    return reply.send({ status: 'ok', state: s.state, violationCount: s.violationCount });
  });

  app.get('/api/v1/status', { config: { scope: 'read' } }, (_req, reply) =>
    reply.send(monitor.status()),
  );

  app.get<{ Querystring: { pathClass?: PathClassName } }>(
    '/api/v1/violations',
    {
      config: { scope: 'read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { pathClass: { type: 'string', enum: [...PATH_CLASSES] } },
        },
      },
    },
    (request, reply) => {
      const violations = monitor.violations(request.query.pathClass);
      return reply.send({ violations, count: violations.length });
    },
  );

  app.post('/api/v1/scan', { config: { scope: 'scan' } }, async (request, reply) => {
    deps.log?.info({ caller: request.caller }, 'scan requested over HTTP');
    const { violations: violationCount, ...summary } = await monitor.scan('request');
    return reply.send({ ...summary, violationCount, violations: monitor.violations() });
  });

  return app;
}

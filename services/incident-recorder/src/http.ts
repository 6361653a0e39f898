import Fastify, { type FastifyInstance } from 'fastify';

export interface HttpDeps {
  health: () => {
    ok: boolean;
    chain: { lastSeq: number; sealedToSeq: number; head: string; mismatches: number };
  };
}

/**
 * The recorder's gateway. Only `GET /health` exists in this release, and it needs no token
 * (ARCHITECTURE §2); the incident routes arrive with the incident lifecycle.
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get(
    '/health',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['status', 'chain'],
            properties: {
              status: { type: 'string' },
              chain: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  lastSeq: { type: 'integer' },
                  sealedToSeq: { type: 'integer' },
                  head: { type: 'string' },
                  mismatches: { type: 'integer' },
                },
              },
            },
          },
        },
      },
    },
    () => {
      const h = deps.health();
      return { status: h.ok ? 'ok' : 'degraded', chain: h.chain };
    },
  );
  return app;
}

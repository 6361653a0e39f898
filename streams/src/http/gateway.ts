import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { TokenCache, TokenError, type TrustStore } from '@secai/contracts';
import type { Logger } from 'pino';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which callers may use the route (a key of `GatewayOptions.scopes`). */
    scope?: string;
    /** No token needed (only `GET /health`). */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated calling service. */
    caller: string | null;
  }
}

export interface GatewayOptions {
  /** This service: the audience every token must name. */
  service: string;
  trust: TrustStore;
  /** Route scope → services allowed to call routes of that scope. */
  scopes: Readonly<Record<string, readonly string[]>>;
  bodyLimit?: number;
  now?: () => Date;
  log?: Logger;
}

/** RFC 9457 problem document; 4xx carry a code and a safe message, 5xx only a correlation id. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
): FastifyReply {
  const body: Problem = { type: `urn:secai:problem:${code}`, title: code, status, code, detail };
  return reply.code(status).type('application/problem+json').send(body);
}

/**
 * A fastify instance with the appliance's gateway rules (ARCHITECTURE §2): every route but the
 * public ones needs a bearer token signed by a trusted service (401 when missing or bad), whose
 * service is allowed the route's scope (403 otherwise); bodies are validated strictly (unknown
 * fields are refused, never stripped; no type coercion); every error is a problem document.
 */
export function createGateway(options: GatewayOptions): FastifyInstance {
  const now = options.now ?? (() => new Date());
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        allErrors: true,
        useDefaults: false,
      },
    },
  });
  app.decorateRequest('caller', null);
  const tokens = new TokenCache();

  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    if (config.public) return;
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    let caller: string;
    try {
      caller = tokens.verify(token, options.trust, {
        audience: options.service,
        now: now(),
      }).caller;
    } catch (err) {
      if (err instanceof TokenError) return sendProblem(reply, 401, err.code, err.message);
      throw err;
    }
    const allowed = config.scope ? options.scopes[config.scope] : undefined;
    if (!allowed?.includes(caller)) {
      return sendProblem(
        reply,
        403,
        'SCOPE_DENIED',
        `${caller} may not call ${request.method} ${request.url.split('?')[0]}`,
      );
    }
    request.caller = caller;
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.validation) {
      const detail = error.validation
        .map((v) => `${v.instancePath || '/'} ${v.message ?? 'is invalid'}`)
        .join('; ');
      return sendProblem(reply, 400, 'REQUEST_INVALID', detail.slice(0, 1024));
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(reply, 413, 'REQUEST_TOO_LARGE', error.message);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendProblem(reply, 400, 'REQUEST_MALFORMED', 'the body is not valid JSON');
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(reply, error.statusCode, 'REQUEST_REFUSED', error.message.slice(0, 512));
    }
    const id = randomUUID();
    options.log?.error({ err: error, id }, 'request failed');
    return sendProblem(reply, 500, 'INTERNAL', `internal error; correlation id ${id}`);
  });
  return app;
}

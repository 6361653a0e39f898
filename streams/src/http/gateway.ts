import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { TokenCache, TokenError, type TrustStore } from '@secai/contracts';
import type { Logger } from 'pino';
import { OPENAPI_PATH, OpenApiDocumentSchema, type GatewayRoute } from './openapi.js';
import { ERROR_RESPONSES, PROBLEM_MEDIA_TYPE, type Problem } from './problem.js';

export type { Problem } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which callers may use the route (a key of `GatewayOptions.scopes`). */
    scope?: string;
    /** No token needed (only `GET /health`). */
    public?: boolean;
    /** Any authenticated service may call it (only the OpenAPI document: the API's shape). */
    anyCaller?: boolean;
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
  /**
   * Declares the service's routes. They are registered after the OpenAPI plugin (which sees only
   * routes declared after it loads), so a route declared here is always in the document.
   */
  routes: (api: FastifyInstance) => void;
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
): FastifyReply {
  const body: Problem = { type: `urn:secai:problem:${code}`, title: code, status, code, detail };
  return reply.code(status).type(PROBLEM_MEDIA_TYPE).send(body);
}

/**
 * A fastify instance with the appliance's gateway rules (ARCHITECTURE §2): every route but the
 * public ones needs a bearer token signed by a trusted service (401 when missing or bad), whose
 * service is allowed the route's scope (403 otherwise); bodies are validated strictly (unknown
 * fields are refused, never stripped; no type coercion); every error is a problem document.
 * Each gateway serves its OpenAPI document, generated from the route schemas, at `OPENAPI_PATH`
 * to any authenticated service.
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
  const routes: GatewayRoute[] = [];
  routesOf.set(app, routes);
  // HEAD routes are fastify's automatic copies of the GET routes, not routes of their own.
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: route.url });
  });

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
    // An unknown route is a 404 for an authenticated caller, not a scope refusal.
    const allowed = config.scope ? options.scopes[config.scope] : undefined;
    if (!config.anyCaller && !request.is404 && !allowed?.includes(caller)) {
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
      const where = error.validationContext ?? 'request';
      return sendProblem(reply, 400, 'REQUEST_INVALID', `${where}: ${detail}`.slice(0, 1024));
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

  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `secai ${options.service}`, version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  void app.register((api, _opts, done) => {
    api.get(
      OPENAPI_PATH,
      {
        config: { anyCaller: true },
        schema: {
          summary: 'this OpenAPI document',
          response: { 200: OpenApiDocumentSchema, ...ERROR_RESPONSES },
        },
      },
      (_request, reply) => reply.send(app.swagger()),
    );
    options.routes(api);
    done();
  });
  return app;
}

const routesOf = new WeakMap<FastifyInstance, GatewayRoute[]>();

/** Every route a gateway declared (method and fastify path), in order; HEAD copies left out. */
export function gatewayRoutes(app: FastifyInstance): GatewayRoute[] {
  return [...(routesOf.get(app) ?? [])];
}

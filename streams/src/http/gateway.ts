import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { BaseError, TokenCache, TokenError, type TrustStore } from '@secai/contracts';
import type { Logger } from 'pino';
import type { BusWatch } from '../busWatch.js';
import { MAX_JSON_DEPTH, jsonTooDeep } from './json.js';
import { OPENAPI_PATH, OpenApiDocumentSchema, type GatewayRoute } from './openapi.js';
import { ERROR_RESPONSES, PROBLEM_MEDIA_TYPE, type Problem } from './problem.js';
import { methodsOf, rawProblem } from './refusals.js';

export type { Problem } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which callers may use the route (a key of `GatewayOptions.scopes`). */
    scope?: string;
    /** No token needed (only `GET /health`). */
    public?: boolean;
    /** Any authenticated service may call it (only the OpenAPI document: the API's shape). */
    anyCaller?: boolean;
    /**
     * The route answers without the bus (it reads memory or disk). Every other token-checked
     * route is refused at once with 503 `BUS_UNAVAILABLE` while the bus is down.
     */
    busOptional?: boolean;
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
  /**
   * Route scope → callers allowed to call routes of that scope: service names, and `API_KEY_CALLER`
   * for any caller authenticated by `apiKeys`.
   */
  scopes: Readonly<Record<string, readonly string[]>>;
  /**
   * Bearer keys that are not service tokens (a person's own OpenAI client): returns the caller
   * (`key:<name>`) of a valid, unrevoked key, or null. Without it, only service tokens pass.
   */
  apiKeys?: (token: string) => string | null;
  bodyLimit?: number;
  /** How deep a JSON body may nest (`MAX_JSON_DEPTH`); deeper is 400 `REQUEST_TOO_DEEP`. */
  maxJsonDepth?: number;
  /**
   * The service's bus connection (`watchBus(nc)`). While it is not connected, routes that need
   * it answer 503 `BUS_UNAVAILABLE` with `Retry-After` at once, instead of each request waiting
   * for its NATS timeout. Without it, no route is refused for the bus.
   */
  bus?: Pick<BusWatch, 'connected' | 'health'>;
  now?: () => Date;
  log?: Logger;
  /**
   * Declares the service's routes. They are registered after the OpenAPI plugin (which sees only
   * routes declared after it loads), so a route declared here is always in the document.
   */
  routes: (api: FastifyInstance) => void;
}

/** In a scope's caller list: any caller that `GatewayOptions.apiKeys` authenticated. */
export const API_KEY_CALLER = 'key:*';

/** Seconds a client is told to wait before retrying a request refused for the bus. */
export const BUS_RETRY_AFTER_SECONDS = 2;

export type GatewayRefusalCode = 'REQUEST_TOO_DEEP';

/** A request the gateway refuses before any handler runs, with its HTTP status. */
export class GatewayRefusal extends BaseError<GatewayRefusalCode> {
  constructor(
    code: GatewayRefusalCode,
    readonly status: number,
    message: string,
  ) {
    super(code, message);
  }
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
  const maxDepth = options.maxJsonDepth ?? MAX_JSON_DEPTH;
  const tokens = new TokenCache();
  /** The caller of a request, or the 401 problem already sent. */
  const authenticate = (request: FastifyRequest, reply: FastifyReply): string | null => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    // Service tokens have their own prefix; anything else is an API key when the service takes them.
    if (options.apiKeys && token !== undefined && !token.startsWith('secai1.')) {
      const caller = options.apiKeys(token);
      if (caller !== null) return caller;
      void sendProblem(reply, 401, 'API_KEY_INVALID', 'the API key is unknown or revoked');
      return null;
    }
    try {
      return tokens.verify(token, options.trust, { audience: options.service, now: now() }).caller;
    } catch (err) {
      if (err instanceof TokenError) {
        void sendProblem(reply, 401, err.code, err.message);
        return null;
      }
      throw err;
    }
  };
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
    // fastify answers these itself, before any hook, in its own JSON shape: a problem document
    // instead, after the token check like every other refusal.
    frameworkErrors: (error, request, reply) => {
      if (authenticate(request, reply) === null) return;
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
        void sendProblem(reply, 414, 'URI_TOO_LONG', 'a path parameter is too long');
      else if (error.code === 'FST_ERR_BAD_URL')
        void sendProblem(reply, 400, 'REQUEST_MALFORMED', 'the path is not a valid URL');
      else void internal(reply, error);
    },
    clientErrorHandler: rawProblem,
  });
  const internal = (reply: FastifyReply, error: unknown) => {
    const id = randomUUID();
    options.log?.error({ err: error, id }, 'request failed');
    return sendProblem(reply, 500, 'INTERNAL', `internal error; correlation id ${id}`);
  };
  app.decorateRequest('caller', null);
  const routes: GatewayRoute[] = [];
  routesOf.set(app, routes);
  // HEAD routes are fastify's automatic copies of the GET routes, not routes of their own.
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: route.url });
  });

  // The depth is checked on the text, before parsing: a parser, validator or digest that
  // recurses would overflow its stack on the body it is asked to refuse. The rest is fastify's
  // own parser (prototype poisoning refused).
  const parseJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonTooDeep(body, maxDepth)) {
      const refusal = new GatewayRefusal(
        'REQUEST_TOO_DEEP',
        400,
        `the body nests deeper than ${maxDepth} levels`,
      );
      done(refusal, undefined);
      return;
    }
    void parseJson(request, body as string, done);
  });

  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    if (config.public) return;
    const caller = authenticate(request, reply);
    if (caller === null) return reply;
    // An unknown route (or method) is a 404 (or 405) for an authenticated caller, not a scope
    // refusal: the not-found handler says which.
    if (request.is404) {
      request.caller = caller;
      return;
    }
    const allowed = config.scope ? options.scopes[config.scope] : undefined;
    const permitted =
      allowed?.includes(caller) === true ||
      (caller.startsWith('key:') && allowed?.includes(API_KEY_CALLER) === true);
    if (!config.anyCaller && !permitted) {
      return sendProblem(
        reply,
        403,
        'SCOPE_DENIED',
        `${caller} may not call ${request.method} ${request.url.split('?')[0]}`,
      );
    }
    request.caller = caller;
    // Refused at once rather than left to wait for a NATS timeout; a decide refused here is a
    // deny like any other failure (callers fail closed).
    const bus = options.bus;
    if (bus && !config.anyCaller && !config.busOptional && !bus.connected()) {
      void reply.header('retry-after', String(BUS_RETRY_AFTER_SECONDS));
      return sendProblem(
        reply,
        503,
        'BUS_UNAVAILABLE',
        `the bus is ${bus.health().state}: nothing can be recorded; retry later`,
      );
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allow = methodsOf(routes, path);
    if (allow.length > 0) {
      void reply.header('allow', allow.join(', '));
      return sendProblem(
        reply,
        405,
        'METHOD_NOT_ALLOWED',
        `${request.method} is not allowed on ${path}; allowed: ${allow.join(', ')}`,
      );
    }
    return sendProblem(reply, 404, 'NOT_FOUND', `no route ${request.method} ${path}`);
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof GatewayRefusal)
      return sendProblem(reply, error.status, error.code, error.message);
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
    return internal(reply, error);
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

import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { BusWatch, Logger } from '@secai/streams';
import { MAX_JSON_DEPTH, jsonTooDeep, sendProblem } from '@secai/streams/http';
import type { Auth } from './auth.js';
import type { BusSource } from './busCredentials.js';
import { UiError } from './errors.js';
import type { ExportDownload } from './incidentExport.js';
import type { OperatorActions } from './operatorActions.js';
import type { RecordedDecision } from './recordedDecisions.js';
import { injectNonce, isPagePath } from './pageRules.js';
import { actionRoutes } from './actionRoutes.js';
import { authRoutes } from './authRoutes.js';
import { BODY_LIMIT } from './schemas.js';
import { newNonce, securityHeaders } from './securityHeaders.js';
import { refreshesSession } from './sessionRules.js';
import { secretsEqual, type Session, type SessionTable } from './sessions.js';
import { clientKey } from './throttle.js';
import type { WebBundle } from './webBundle.js';

// The UI's HTTP edge (contract §C). Every request: a fresh CSP nonce and the security headers,
// the Host checked (a DNS-rebinding page names another host), and for a state change the Origin
// checked (a page of another origin). Routes marked `session` need a live session cookie (401
// SESSION_REQUIRED / SESSION_EXPIRED) and, when they change state, the session's CSRF token in
// `X-CSRF-Token` (403 CSRF_INVALID). Only a state change refreshes the idle timer. Every error is
// a problem document.

export const SESSION_COOKIE = 'secai_session';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `session`: a live session is required (and CSRF on state changes). Default: public. */
    auth?: 'session';
    /** The route sends a command: refused at once with 503 while the bus is down. */
    needsBus?: boolean;
  }
  interface FastifyRequest {
    cspNonce: string;
    session: Session | null;
    sessionId: string | null;
  }
}

export interface HttpDeps {
  auth: Auth;
  sessions: SessionTable;
  bus: BusSource;
  busWatch: Pick<BusWatch, 'connected' | 'health'>;
  actions: OperatorActions;
  exportIncident: (id: string) => Promise<ExportDownload>;
  /** Recorded decisions for a what-if, read and verified from the stream. */
  decisions: {
    named(ids: readonly string[]): Promise<RecordedDecision[]>;
    latest(): Promise<RecordedDecision[]>;
  };
  web: WebBundle;
  secureCookies: boolean;
  /** Host names the UI answers to besides the loopback ones. */
  allowedHosts: readonly string[];
  /** Milliseconds (sessions and throttling; tests inject a clock). */
  now: () => number;
  log?: Logger;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The host name of a Host header (port dropped), lower case; null when malformed. */
export function hostnameOf(host: string | undefined): string | null {
  if (!host) return null;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(host);
  return m ? m[1]!.toLowerCase() : null;
}

export function buildHttp(deps: HttpDeps): FastifyInstance {
  const allowedHosts = new Set([
    ...LOOPBACK_HOSTS,
    ...deps.allowedHosts.map((h) => h.toLowerCase()),
  ]);
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    trustProxy: false,
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        allErrors: true,
        useDefaults: false,
      },
    },
    frameworkErrors: (error, _request, reply) => {
      if (error.code === 'FST_ERR_BAD_URL')
        void sendProblem(reply, 400, 'REQUEST_MALFORMED', 'the path is not a valid URL');
      else void internal(reply, error);
    },
  });
  const internal = (reply: FastifyReply, error: unknown) => {
    const id = randomUUID();
    deps.log?.error({ err: error, id }, 'request failed');
    return sendProblem(reply, 500, 'INTERNAL', `internal error; correlation id ${id}`);
  };

  // Cookies are parsed in the hook below, which must run first; the plugin only sets them.
  void app.register(fastifyCookie, { hook: false });
  app.decorateRequest('cspNonce', '');
  app.decorateRequest('session', null);
  app.decorateRequest('sessionId', null);

  const parseJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonTooDeep(body, MAX_JSON_DEPTH)) {
      done(
        new UiError('REQUEST_INVALID', `the body nests deeper than ${MAX_JSON_DEPTH} levels`),
        undefined,
      );
      return;
    }
    void parseJson(request, body as string, done);
  });

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    request.cspNonce = newNonce();
    const websocketUrl = await deps.bus.websocketUrl().catch(() => deps.bus.lastWebsocketUrl);
    void reply.headers(securityHeaders(path, request.cspNonce, websocketUrl));

    const hostname = hostnameOf(request.headers.host);
    if (hostname === null || !allowedHosts.has(hostname))
      return problem(
        reply,
        new UiError('HOST_REFUSED', 'this service answers only to its own host names'),
      );
    const changesState = refreshesSession(request.method);
    if (changesState && !sameOrigin(request, deps.secureCookies)) {
      return problem(
        reply,
        new UiError('ORIGIN_REFUSED', 'a state change must come from this origin'),
      );
    }

    if (request.routeOptions.config.auth !== 'session') return;
    const cookie = app.parseCookie(request.headers.cookie ?? '')[SESSION_COOKIE];
    const found = deps.sessions.lookup(cookie, deps.now(), false);
    if (found.status !== 'live') {
      if (cookie !== undefined) clearSessionCookie(reply, request, deps.secureCookies);
      return problem(
        reply,
        found.status === 'expired'
          ? new UiError('SESSION_EXPIRED', 'the session has expired: log in again')
          : new UiError('SESSION_REQUIRED', 'log in first'),
      );
    }
    if (changesState) {
      const token = request.headers[CSRF_HEADER];
      if (typeof token !== 'string' || !secretsEqual(token, found.session.csrfToken))
        return problem(
          reply,
          new UiError('CSRF_INVALID', `send the session's CSRF token in X-CSRF-Token`),
        );
      // Only a state change that passed every check keeps the session alive.
      found.session.lastActiveAtMs = deps.now();
    }
    request.session = found.session;
    request.sessionId = found.id;
    if (request.routeOptions.config.needsBus && !deps.busWatch.connected())
      return problem(
        reply,
        new UiError('BUS_UNAVAILABLE', `the bus is ${deps.busWatch.health().state}; retry later`, {
          retryAfterSeconds: 2,
        }),
      );
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof UiError) {
      if (error.status >= 500) deps.log?.warn({ err: error, code: error.code }, 'request failed');
      return problem(reply, error);
    }
    if (error.validation) {
      const detail = error.validation
        .map((v) => `${v.instancePath || '/'} ${v.message ?? 'is invalid'}`)
        .join('; ');
      return sendProblem(
        reply,
        400,
        'REQUEST_INVALID',
        `${error.validationContext ?? 'request'}: ${detail}`.slice(0, 1024),
      );
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
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
      return sendProblem(reply, error.statusCode, 'REQUEST_MALFORMED', error.message.slice(0, 512));
    return internal(reply, error);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if ((request.method === 'GET' || request.method === 'HEAD') && isPagePath(path))
      return sendPage(request, reply, deps.web);
    return sendProblem(reply, 404, 'NOT_FOUND', `no route ${request.method} ${path.slice(0, 256)}`);
  });

  void app.register((api, _opts, done) => {
    api.get('/health', async (_request, reply) => {
      const health = deps.busWatch.health();
      const up = health.state === 'connected';
      const { built } = await deps.web.indexHtml();
      return reply.code(up ? 200 : 503).send({
        status: up ? 'ok' : 'degraded',
        bus: health,
        configured: deps.auth.configured,
        page: built ? 'built' : 'placeholder',
      });
    });
    api.get('/', (request, reply) => sendPage(request, reply, deps.web));
    api.get('/assets/*', async (request: FastifyRequest<{ Params: { '*': string } }>, reply) => {
      const asset = await deps.web.asset(request.params['*']);
      if (!asset) return sendProblem(reply, 404, 'NOT_FOUND', 'no such asset');
      return reply.type(asset.contentType).send(asset.bytes);
    });
    authRoutes(api, deps);
    actionRoutes(api, deps);
    done();
  });
  return app;
}

/** A refusal as its problem document, with Retry-After when it says when to come back. */
export function problem(reply: FastifyReply, error: UiError): FastifyReply {
  if (error.details.retryAfterSeconds !== undefined)
    void reply.header('retry-after', String(error.details.retryAfterSeconds));
  return sendProblem(reply, error.status, error.code, error.message);
}

async function sendPage(request: FastifyRequest, reply: FastifyReply, web: WebBundle) {
  const { html } = await web.indexHtml();
  return reply.type('text/html; charset=utf-8').send(injectNonce(html, request.cspNonce));
}

/**
 * Whether a state change comes from this origin: an `Origin` header must name this very host
 * (scheme and port included), and a browser's `Sec-Fetch-Site` must not say another site sent
 * it. A client that sends neither (curl, the CLI) is not a browser page of another origin.
 */
export function sameOrigin(request: FastifyRequest, behindTls = false): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const host = request.headers.host ?? '';
  // Behind a TLS proxy (Secure cookies configured) the page's origin is https while this
  // socket is plain http.
  return origin === `${request.protocol}://${host}` || (behindTls && origin === `https://${host}`);
}

export function cookieOptions(request: FastifyRequest, secure: boolean) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: secure || request.protocol === 'https',
  };
}

export function clearSessionCookie(reply: FastifyReply, request: FastifyRequest, secure: boolean) {
  void reply.clearCookie(SESSION_COOKIE, cookieOptions(request, secure));
}

export { clientKey };

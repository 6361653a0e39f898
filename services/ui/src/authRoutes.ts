import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { NewSession } from './auth.js';
import {
  clearSessionCookie,
  clientKey,
  cookieOptions,
  SESSION_COOKIE,
  type HttpDeps,
} from './http.js';
import { AUTH_BODY_LIMIT, ChangeBody, LoginBody, SetupBody } from './schemas.js';
import { sessionInfo } from './sessionRules.js';

// /api/auth/*: status (public, never refreshes), setup and login (public, no CSRF: there is no
// session yet; the Origin check still applies), logout and change (session and CSRF).

export function authRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const client = (request: FastifyRequest) => clientKey(request.ip);

  const startSession = (request: FastifyRequest, reply: FastifyReply, created: NewSession) => {
    void reply.setCookie(SESSION_COOKIE, created.token, {
      ...cookieOptions(request, deps.secureCookies),
      maxAge: deps.sessions.limits.absoluteSeconds,
    });
    return reply.send({ operator: created.session.operator, csrfToken: created.session.csrfToken });
  };

  app.get('/api/auth/status', (request, reply) => {
    const cookie = request.server.parseCookie(request.headers.cookie ?? '')[SESSION_COOKIE];
    const now = deps.now();
    const found = deps.sessions.lookup(cookie, now, false);
    if (found.status !== 'live') {
      if (cookie !== undefined) clearSessionCookie(reply, request, deps.secureCookies);
      return reply.send({ configured: deps.auth.configured, authenticated: false });
    }
    const { session } = found;
    return reply.send({
      configured: deps.auth.configured,
      authenticated: true,
      operator: session.operator,
      csrfToken: session.csrfToken,
      session: sessionInfo(session, now, deps.sessions.limits),
    });
  });

  app.post<{ Body: SetupBody }>(
    '/api/auth/setup',
    { bodyLimit: AUTH_BODY_LIMIT, schema: { body: SetupBody } },
    async (request, reply) => {
      await deps.auth.setup(client(request), request.body);
      return reply.send({ configured: true, operator: request.body.operator });
    },
  );

  app.post<{ Body: LoginBody }>(
    '/api/auth/login',
    { bodyLimit: AUTH_BODY_LIMIT, schema: { body: LoginBody } },
    async (request, reply) => {
      const created = await deps.auth.login(client(request), request.body.passphrase);
      // A cookie the browser still holds (another session) ends here: one login, one session.
      const old = request.server.parseCookie(request.headers.cookie ?? '')[SESSION_COOKIE];
      const previous = deps.sessions.lookup(old, deps.now(), false);
      if (previous.status === 'live') deps.sessions.revoke(previous.id);
      return startSession(request, reply, created);
    },
  );

  app.post(
    '/api/auth/logout',
    { bodyLimit: AUTH_BODY_LIMIT, config: { auth: 'session' } },
    (request, reply) => {
      deps.auth.logout(request.sessionId!);
      clearSessionCookie(reply, request, deps.secureCookies);
      return reply.send({ authenticated: false });
    },
  );

  app.post<{ Body: ChangeBody }>(
    '/api/auth/change',
    { bodyLimit: AUTH_BODY_LIMIT, config: { auth: 'session' }, schema: { body: ChangeBody } },
    async (request, reply) => {
      const created = await deps.auth.change(
        client(request),
        request.body.current,
        request.body.next,
      );
      return startSession(request, reply, created);
    },
  );
}

import { connect as connectTcp } from 'node:net';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki } from '@secai/contracts/testing';
import { ERROR_RESPONSES, PROBLEM_MEDIA_TYPE, createGateway } from '../src/http/index.js';
import { assertProblem, bearer } from '../src/http/testing.js';

// Issue 10 §5 (HTTP): the gateway as an attacker holding one service's real token sees it. Every
// answer that is not a success must be a problem document with a stable code: a token whose
// claims decode to `null`, routes and methods that do not exist, bodies that are too large, of
// another type, not JSON, or nested deep enough to overflow a recursive parser or validator,
// and fastify's own refusals (an over-long route parameter, a broken request line).

const pki = await createTestPki();
const ok = Type.Object({ ok: Type.Boolean() }, { additionalProperties: false });
const app = createGateway({
  service: 'registry',
  trust: pki.trust,
  scopes: { read: ['cli', 'ui'], write: ['cli'] },
  // Large enough for 30,000 levels of objects: the depth, not the size, must refuse them.
  bodyLimit: 1024 * 1024,
  routes: (api) => {
    api.get('/health', { config: { public: true } }, () => ({ status: 'ok' }));
    api.get(
      '/api/v1/things',
      { config: { scope: 'read' }, schema: { response: { 200: ok, ...ERROR_RESPONSES } } },
      () => ({ ok: true }),
    );
    api.post(
      '/api/v1/things',
      {
        config: { scope: 'write' },
        schema: {
          body: Type.Object({ name: Type.String() }, { additionalProperties: false }),
          response: { 200: ok, ...ERROR_RESPONSES },
        },
      },
      () => ({ ok: true }),
    );
    // No schema: the body reaches the handler as parsed, so only the parser stands in the way.
    api.post('/api/v1/echo', { config: { scope: 'write' } }, (request) => ({
      ok: request.body !== undefined,
    }));
    api.get('/api/v1/things/:id', { config: { scope: 'read' } }, () => ({ ok: true }));
    api.get('/api/v1/boom', { config: { scope: 'read' } }, () => {
      throw new Error('/srv/secret/path.ts:12 exploded');
    });
  },
});
beforeAll(() => app.ready());
afterAll(() => app.close());

const cli = () => ({ authorization: bearer(pki, 'cli', 'registry') });
const json = { 'content-type': 'application/json' };
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const nestedObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const b64 = (s: string) => Buffer.from(s).toString('base64url');

describe('tokens an attacker crafts', () => {
  it.each(['null', 'true', '7', '"iss"', '[]'])(
    'answers claims that decode to %s with 401 TOKEN_MALFORMED, not 500',
    async (claims) => {
      const res = await app.inject({
        method: 'GET',
        url: '/api/v1/things',
        headers: { authorization: `Bearer secai1.${b64(claims)}.x` },
      });
      assertProblem(res, 401, 'TOKEN_MALFORMED');
    },
  );
});

describe('routes and methods that do not exist', () => {
  it('answers an unknown route with 404 NOT_FOUND to any authenticated caller', async () => {
    for (const service of ['cli', 'ui', 'inference']) {
      const res = await app.inject({
        method: 'GET',
        url: '/api/v1/nothing',
        headers: { authorization: bearer(pki, service, 'registry') },
      });
      assertProblem(res, 404, 'NOT_FOUND');
    }
  });
  it('answers an unknown route without a token with 401 (it learns nothing)', async () => {
    assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/nothing' }),
      401,
      'TOKEN_MISSING',
    );
  });
  it.each(['DELETE', 'PUT', 'PATCH', 'OPTIONS'] as const)(
    'answers %s on a known route with 405 and an Allow header',
    async (method) => {
      const res = await app.inject({ method, url: '/api/v1/things', headers: cli() });
      assertProblem(res, 405, 'METHOD_NOT_ALLOWED');
      const allow = String(res.headers.allow)
        .split(',')
        .map((m) => m.trim());
      expect(allow.sort()).toEqual(['GET', 'HEAD', 'POST']);
    },
  );
  it('answers a wrong method on a parametric route with 405', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/things/abc', headers: cli() });
    assertProblem(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('GET, HEAD');
  });
  it('refuses a wrong method without a token with 401 before saying what exists', async () => {
    assertProblem(
      await app.inject({ method: 'DELETE', url: '/api/v1/things' }),
      401,
      'TOKEN_MISSING',
    );
  });
  it('answers HEAD like GET: the token and scope apply, the refusal is problem+json', async () => {
    const refused = await app.inject({ method: 'HEAD', url: '/api/v1/things' });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-type']).toContain(PROBLEM_MEDIA_TYPE);
    const allowed = await app.inject({ method: 'HEAD', url: '/api/v1/things', headers: cli() });
    expect(allowed.statusCode).toBe(200);
  });
});

describe('bodies', () => {
  const post = (url: string, payload: string, headers: Record<string, string> = json) =>
    app.inject({ method: 'POST', url, headers: { ...cli(), ...headers }, payload });

  it('refuses JSON nested 30,000 deep with 400 REQUEST_TOO_DEEP (arrays and objects)', async () => {
    for (const body of [nested(30_000), nestedObject(30_000)]) {
      assertProblem(await post('/api/v1/echo', body), 400, 'REQUEST_TOO_DEEP');
      assertProblem(await post('/api/v1/things', body), 400, 'REQUEST_TOO_DEEP');
    }
  });
  it('refuses JSON one level over the bound, accepts it at the bound', async () => {
    assertProblem(await post('/api/v1/echo', nested(33)), 400, 'REQUEST_TOO_DEEP');
    expect((await post('/api/v1/echo', nested(32))).json()).toEqual({ ok: true });
  });
  it('counts depth outside strings only', async () => {
    const body = JSON.stringify({ text: '[[[[{{{{'.repeat(200), escaped: '\\"[[[' });
    expect((await post('/api/v1/echo', body)).json()).toEqual({ ok: true });
  });
  it('refuses malformed and empty JSON with 400 REQUEST_MALFORMED', async () => {
    for (const body of ['{', '{"name": }', '[1,]', '']) {
      assertProblem(await post('/api/v1/things', body), 400, 'REQUEST_MALFORMED');
    }
  });
  it('refuses a prototype-poisoning body with 400', async () => {
    const res = await post('/api/v1/echo', '{"__proto__":{"admin":true}}');
    assertProblem(res, 400, 'REQUEST_MALFORMED');
  });
  it('refuses unknown fields with 400 REQUEST_INVALID', async () => {
    assertProblem(
      await post('/api/v1/things', JSON.stringify({ name: 'x', admin: true })),
      400,
      'REQUEST_INVALID',
    );
  });
  it('refuses another media type with 415, and a body over the limit with 413', async () => {
    assertProblem(
      await post('/api/v1/things', '<x/>', { 'content-type': 'application/xml' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assertProblem(
      await post('/api/v1/things', JSON.stringify({ name: 'x'.repeat(1024 * 1024) })),
      413,
      'REQUEST_TOO_LARGE',
    );
  });
});

describe("fastify's own refusals", () => {
  it('answers an over-long route parameter with a problem document', async () => {
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/things/${'a'.repeat(500)}`,
      headers: cli(),
    });
    assertProblem(res, 414, 'URI_TOO_LONG');
  });
  it('answers a path parameter that is not valid percent-encoding with 400, token first', async () => {
    const url = '/api/v1/things/%E0%A4%A';
    assertProblem(await app.inject({ method: 'GET', url }), 401, 'TOKEN_MISSING');
    assertProblem(
      await app.inject({ method: 'GET', url, headers: cli() }),
      400,
      'REQUEST_MALFORMED',
    );
  });
  it('answers a handler failure with 500 INTERNAL and a correlation id only', async () => {
    const problem = assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/boom', headers: cli() }),
      500,
      'INTERNAL',
    );
    expect(problem.detail).toMatch(/^internal error; correlation id [0-9a-f-]{36}$/);
  });
  it('answers a request line the HTTP parser refuses with a problem document', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connectTcp(port, '127.0.0.1', () => {
        socket.end('GET /health HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n');
      });
      let data = '';
      socket.on('data', (chunk) => (data += String(chunk)));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw.toLowerCase()).toContain(`content-type: ${PROBLEM_MEDIA_TYPE}`);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { code: string };
    expect(body.code).toBe('REQUEST_MALFORMED');
  });
});

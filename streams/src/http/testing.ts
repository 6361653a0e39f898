import { AssertionError } from 'node:assert';
import type { FastifyInstance } from 'fastify';
import { issueBearerToken } from '@secai/contracts';
import { createTestPki, type TestPki } from '@secai/contracts/testing';
import type { BusState, BusWatch } from '../busWatch.js';
import { gatewayRoutes } from './gateway.js';
import { OPENAPI_PATH, openApiGaps } from './openapi.js';
import { PROBLEM_MEDIA_TYPE, type Problem } from './problem.js';

// What every gateway's in-process spec (`test/http*.unit.spec.ts`) checks the same way: the
// credentials an attacker can present, the problem document, and the OpenAPI document.

/** `Bearer <token>` signed by `service` of the test PKI for the gateway `audience`. */
export function bearer(pki: TestPki, service: string, audience: string, now = new Date()): string {
  return `Bearer ${issueBearerToken(pki.signerFor(service), { audience, now })}`;
}

export interface RefusedCredential {
  name: string;
  headers: Record<string, string>;
  status: 401 | 403;
  code: string;
}

/**
 * Credentials a gateway must refuse, as an attacker would try them: none, garbage, another scheme,
 * a token for another gateway, an expired one, claims rewritten to impersonate an allowed caller,
 * a key from another appliance, and a valid token of a service outside the scope dressed up with
 * headers that name an allowed caller (the gateway trusts the token only).
 */
export async function refusedCredentials(
  pki: TestPki,
  options: { audience: string; allowed: string; outsider: string; otherAudience?: string },
): Promise<RefusedCredential[]> {
  const { audience, allowed, outsider } = options;
  const other = options.otherAudience ?? (audience === 'registry' ? 'policy-engine' : 'registry');
  const longAgo = new Date(Date.now() - 2 * 3600 * 1000);
  const stranger = await createTestPki([allowed], { validityDays: 36_499 });
  const valid = issueBearerToken(pki.signerFor(outsider), { audience, now: new Date() });
  const [prefix, body, sig] = valid.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
  const impersonated = Buffer.from(
    JSON.stringify({ ...claims, iss: allowed, kid: pki.signerFor(allowed).keyid }),
  ).toString('base64url');
  const spoofHeaders = { 'x-secai-caller': allowed, 'x-forwarded-user': allowed, from: allowed };
  return [
    { name: 'no token', headers: {}, status: 401, code: 'TOKEN_MISSING' },
    {
      name: 'garbage',
      headers: { authorization: 'Bearer nonsense' },
      status: 401,
      code: 'TOKEN_MALFORMED',
    },
    {
      name: 'another scheme',
      headers: { authorization: `Basic ${Buffer.from(`${allowed}:x`).toString('base64')}` },
      status: 401,
      code: 'TOKEN_MISSING',
    },
    {
      name: `a token for ${other}`,
      headers: { authorization: bearer(pki, allowed, other) },
      status: 401,
      code: 'TOKEN_AUDIENCE',
    },
    {
      name: 'an expired token',
      headers: { authorization: bearer(pki, allowed, audience, longAgo) },
      status: 401,
      code: 'TOKEN_EXPIRED',
    },
    {
      name: `${outsider}'s token with claims rewritten to ${allowed}`,
      headers: { authorization: `Bearer ${prefix}.${impersonated}.${sig}` },
      status: 401,
      code: 'TOKEN_INVALID',
    },
    {
      name: `a ${allowed} key from another appliance`,
      headers: { authorization: bearer(stranger, allowed, audience) },
      status: 401,
      code: 'TOKEN_INVALID',
    },
    {
      name: `${outsider}'s valid token with headers naming ${allowed}`,
      headers: { authorization: `Bearer ${valid}`, ...spoofHeaders },
      status: 403,
      code: 'SCOPE_DENIED',
    },
  ];
}

interface InjectedResponse {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/**
 * Asserts a problem document with this status (and code): problem+json, the documented members
 * only, and no stack trace or internal path in the detail. Returns it for further checks.
 */
export function assertProblem(res: InjectedResponse, status: number, code?: string): Problem {
  const fail = (message: string) =>
    new AssertionError({ message: `${message}: ${res.statusCode} ${res.body.slice(0, 300)}` });
  if (res.statusCode !== status) throw fail(`expected status ${status}`);
  const type = res.headers['content-type'];
  if (typeof type !== 'string' || !type.startsWith(PROBLEM_MEDIA_TYPE))
    throw fail(`expected ${PROBLEM_MEDIA_TYPE}, got ${JSON.stringify(type)}`);
  const problem = JSON.parse(res.body) as Problem;
  if (problem.status !== status || typeof problem.code !== 'string' || !problem.code)
    throw fail('not a problem document');
  if (problem.type !== `urn:secai:problem:${problem.code}`) throw fail('problem type mismatch');
  if (code !== undefined && problem.code !== code) throw fail(`expected code ${code}`);
  if (/\n\s+at |node_modules|\/src\/|\.ts:\d/.test(problem.detail))
    throw fail('the detail leaks internals');
  return problem;
}

/** Fetches the gateway's OpenAPI document as `caller` and lists the routes it fails to describe. */
export async function openApiGapsOf(
  app: FastifyInstance,
  authorization: string,
): Promise<{ status: number; gaps: string[]; document: unknown }> {
  const res = await app.inject({ method: 'GET', url: OPENAPI_PATH, headers: { authorization } });
  const document: unknown = res.statusCode === 200 ? res.json() : null;
  return { status: res.statusCode, gaps: openApiGaps(gatewayRoutes(app), document), document };
}

/**
 * A bus that stays in one state, for in-process gateway specs that check how a service maps the
 * bus into `/health` and its 503s. What a real connection reports when its server dies is held
 * by `test/gateway.bus.int.spec.ts` (a killed nats-server, `watchBus`).
 */
export function busIn(
  state: BusState,
  since = '2030-01-01T00:00:00.000Z',
): BusWatch & { set(next: BusState): void } {
  let current = state;
  return {
    health: () => ({ state: current, since, reconnects: 0 }),
    connected: () => current === 'connected',
    stop: () => undefined,
    set(next) {
      current = next;
    },
  };
}

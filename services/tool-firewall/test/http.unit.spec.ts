import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createTestPki } from '@secai/contracts/testing';
import {
  assertProblem,
  bearer,
  busIn,
  openApiGapsOf,
  refusedCredentials,
} from '@secai/streams/http/testing';
import {
  AdapterRegistry,
  FILESYSTEM_ADAPTERS,
  SCOPES,
  TOOL_FIREWALL_ERROR_CODES,
  ToolFirewallError,
  buildHttp,
  type CallOutcome,
  type CallRequest,
} from '../src/index.js';

// The gateway in process, with a firewall that answers what each test sets: who may call what
// (an attacker's credentials, another service's token), the shapes accepted, the problem bodies,
// and the OpenAPI document. The firewall itself is tested for real in the int spec.

const pki = await createTestPki();
const AUD = 'tool-firewall';
let next: CallOutcome;
const seen: CallRequest[] = [];
const app = buildHttp({
  firewall: {
    call: (req) => {
      seen.push(req);
      return Promise.resolve(next);
    },
  },
  adapters: new AdapterRegistry(FILESYSTEM_ADAPTERS),
  policyView: () => Promise.resolve(null),
  hasPolicy: () => true,
  calls: () => ({ calls: [] }),
  trust: pki.trust,
  bus: busIn('connected'),
  apiKeys: (key) => (key === 'sk-secai-good' ? 'key:laptop' : null),
});

const ok: CallOutcome = {
  ok: true,
  callId: 'call_1',
  tool: 'filesystem.read',
  output: 'text',
  truncated: false,
  redactions: { password: 1 },
  decisionIds: ['d1', 'd2#1'],
  eventId: 'e1',
};
const REFUSED = await refusedCredentials(pki, {
  audience: AUD,
  allowed: 'agent',
  outsider: 'inference',
});
const callBody = { tool: 'filesystem.read', arguments: { path: '/vault/user_docs/a' } };
const inject = (authorization: string, payload: unknown = callBody) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/tools/call',
    headers: { authorization },
    payload: payload as object,
  });

describe('who may call', () => {
  it.each(REFUSED)('refuses $name', async ({ name, headers, status, code }) => {
    next = ok;
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/tools/call',
      headers,
      payload: callBody,
    });
    // With API keys on, a bearer that is not a service token is looked up as a key.
    assertProblem(res, status, name === 'garbage' ? 'API_KEY_INVALID' : code);
  });

  it.each(['agent', 'cli', 'ui'])('lets %s call tools', async (service) => {
    next = ok;
    expect((await inject(bearer(pki, service, AUD))).statusCode).toBe(200);
  });

  it.each(['inference', 'registry', 'policy-engine', 'mcp-firewall'])(
    'refuses %s (not in the call scope)',
    async (service) => {
      assertProblem(await inject(bearer(pki, service, AUD)), 403, 'SCOPE_DENIED');
    },
  );

  it('lets a valid API key call as key:<name>, refuses an unknown one', async () => {
    next = ok;
    seen.length = 0;
    expect((await inject('Bearer sk-secai-good')).statusCode).toBe(200);
    expect(seen[0]?.caller).toBe('key:laptop');
    assertProblem(await inject('Bearer sk-secai-bad'), 401, 'API_KEY_INVALID');
  });

  it('shows the call log to operators only', async () => {
    const agent = await app.inject({
      method: 'GET',
      url: '/api/v1/calls',
      headers: { authorization: bearer(pki, 'agent', AUD) },
    });
    assertProblem(agent, 403, 'SCOPE_DENIED');
    const key = await app.inject({
      method: 'GET',
      url: '/api/v1/calls',
      headers: { authorization: 'Bearer sk-secai-good' },
    });
    assertProblem(key, 403, 'SCOPE_DENIED');
    expect(SCOPES.calls).toEqual(['cli', 'ui']);
  });
});

describe('shapes', () => {
  it('answers the appliance shape with the result', async () => {
    next = ok;
    const res = await inject(bearer(pki, 'agent', AUD));
    expect(res.json()).toEqual({
      callId: 'call_1',
      tool: 'filesystem.read',
      output: 'text',
      truncated: false,
      redactions: { password: 1 },
      decisionIds: ['d1', 'd2#1'],
      eventId: 'e1',
    });
  });

  it('maps an OpenAI function name to its tool, and answers a tool message', async () => {
    next = ok;
    seen.length = 0;
    const res = await inject(bearer(pki, 'agent', AUD), {
      id: 'call_abc',
      type: 'function',
      function: { name: 'filesystem_read', arguments: '{"path":"/vault/user_docs/a"}' },
    });
    expect(seen[0]).toMatchObject({
      tool: 'filesystem.read',
      argumentText: '{"path":"/vault/user_docs/a"}',
      callId: 'call_abc',
    });
    expect(res.json()).toEqual({ role: 'tool', tool_call_id: 'call_abc', content: 'text' });
    expect(res.headers['x-secai-redactions']).toBe('{"password":1}');
  });

  it.each([
    ['an unknown member', { ...callBody, sudo: true }],
    ['no tool', { arguments: {} }],
    ['a bad call id', { ...callBody, callId: 'a b' }],
    [
      'OpenAI arguments that are not a string',
      { id: 'c', type: 'function', function: { name: 'x', arguments: {} } },
    ],
  ])('refuses %s before the firewall sees it (400)', async (_why, payload) => {
    assertProblem(await inject(bearer(pki, 'agent', AUD), payload), 400, 'REQUEST_INVALID');
  });

  it('answers a denial as a problem with its evidence', async () => {
    next = {
      ok: false,
      error: new ToolFirewallError('TOOL_DENIED', 'filesystem.read is denied by tools.x', {
        stage: 'policy',
      }),
      callId: 'call_2',
      tool: 'filesystem.read',
      deciding: {
        domain: 'tool_access',
        decision: 'deny',
        decisionId: 'dec-1',
        ruleId: 'tools.x',
        inputDigest: `sha256:${'a'.repeat(64)}`,
        path: '/etc/shadow',
      },
      decisions: [],
      eventId: 'ev-2',
    };
    const problem = assertProblem(await inject(bearer(pki, 'agent', AUD)), 403, 'TOOL_DENIED');
    expect(problem).toMatchObject({
      callId: 'call_2',
      stage: 'policy',
      ruleId: 'tools.x',
      decisionId: 'dec-1',
      inputDigest: `sha256:${'a'.repeat(64)}`,
      eventId: 'ev-2',
    });
  });

  it('says when to retry a rate-limited call', async () => {
    next = {
      ok: false,
      error: new ToolFirewallError('RATE_LIMITED', 'slow down', {
        stage: 'rate_limit',
        retryAfterSeconds: 3,
      }),
      callId: 'call_3',
      tool: 'filesystem.read',
      deciding: null,
      decisions: [],
      eventId: 'ev-3',
    };
    const res = await inject(bearer(pki, 'agent', AUD));
    assertProblem(res, 429, 'RATE_LIMITED');
    expect(res.headers['retry-after']).toBe('3');
  });
});

describe('the contract', () => {
  it('describes every route in its OpenAPI document', async () => {
    const { status, gaps } = await openApiGapsOf(app, bearer(pki, 'cli', AUD));
    expect(status).toBe(200);
    expect(gaps).toEqual([]);
  });

  it('documents every error code in the README', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of TOOL_FIREWALL_ERROR_CODES) expect(readme).toContain(`\`${code}\``);
  });
});

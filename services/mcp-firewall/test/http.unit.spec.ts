import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createTestPki } from '@secai/contracts/testing';
import type { EventStore } from '@secai/streams';
import {
  assertProblem,
  bearer,
  busIn,
  openApiGapsOf,
  refusedCredentials,
} from '@secai/streams/http/testing';
import { ClientSessions } from '../src/clients.js';
import type { Gate } from '../src/gate.js';
import { buildHttp } from '../src/http.js';
import { McpPolicyCache } from '../src/policy.js';
import { Sessions } from '../src/sessions.js';
import { LiveState } from '../src/state.js';
import { ToolCatalog } from '../src/toolCatalog.js';
import type { Upstreams } from '../src/upstream/upstreams.js';

// The gateway in process: its routes are all in the OpenAPI document, the operator's routes are
// the cli's and the ui's, bad bodies are problem documents, and /mcp refuses what a web page or a
// stranger would send before any session exists. No bus: nothing here reaches one.

const pki = await createTestPki(['agent', 'cli', 'ui', 'registry', 'appliance', 'mcp-firewall']);
const log = pino({ level: 'silent' });
const store = {
  append: () => Promise.reject(new Error('no bus in this spec')),
} as unknown as EventStore;
const state = new LiveState(store);
const sessions = new Sessions(state);
const policy = new McpPolicyCache(() => Promise.resolve(null));
const catalog = new ToolCatalog({ upstreams: {} as Upstreams, state, log });
const clients = new ClientSessions({ gate: {} as Gate, sessions, log });
const app = buildHttp({
  trust: pki.trust,
  bus: busIn('connected'),
  keyCaller: () => null,
  clients,
  sessions,
  catalog,
  policy,
  state,
  log,
});
const as = (service: string) => bearer(pki, service, 'mcp-firewall');

describe('the MCP firewall gateway', () => {
  it('describes every route in its OpenAPI document', async () => {
    const { status, gaps } = await openApiGapsOf(app, as('cli'));
    expect(status).toBe(200);
    expect(gaps).toEqual([]);
  });

  it('refuses every credential an attacker would try on the operator routes', async () => {
    for (const c of await refusedCredentials(pki, {
      audience: 'mcp-firewall',
      allowed: 'cli',
      outsider: 'registry',
    })) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/sessions', headers: c.headers });
      expect(res.statusCode, c.name).toBe(c.status);
    }
    const agent = await app.inject({
      method: 'POST',
      url: '/api/v1/approve',
      headers: { authorization: as('agent') },
      payload: { server: 'files', tool: 'x', operator: 'mallory' },
    });
    assertProblem(agent, 403, 'SCOPE_DENIED');
  });

  it('refuses an approval naming an unknown field, neither tool nor all, or without a policy', async () => {
    const cli = { authorization: as('cli') };
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/v1/approve',
      headers: cli,
      payload: { server: 'files', tool: 'x', operator: 'ada', force: true },
    });
    assertProblem(unknown, 400, 'REQUEST_INVALID');
    const neither = await app.inject({
      method: 'POST',
      url: '/api/v1/approve',
      headers: cli,
      payload: { server: 'files', operator: 'ada' },
    });
    assertProblem(neither, 400, 'ARGUMENTS_INVALID');
    const noPolicy = await app.inject({
      method: 'POST',
      url: '/api/v1/approve',
      headers: cli,
      payload: { server: 'files', tool: 'x', operator: 'ada' },
    });
    assertProblem(noPolicy, 503, 'POLICY_UNAVAILABLE');
  });

  it('answers health without a token, degraded while no policy is in force', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'degraded', policy: 'missing', servers: 0 });
  });

  it('refuses /mcp from a foreign Host or Origin, and a request with no or an unknown session', async () => {
    const post = (headers: Record<string, string>, payload: unknown) =>
      app.inject({
        method: 'POST',
        url: '/mcp',
        headers: { authorization: as('agent'), 'content-type': 'application/json', ...headers },
        payload: JSON.stringify(payload),
      });
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
    expect((await post({ host: 'evil.example' }, list)).statusCode).toBe(403);
    expect(
      (await post({ host: '127.0.0.1', origin: 'https://evil.example' }, list)).statusCode,
    ).toBe(403);
    const none = await post({ host: '127.0.0.1:8496' }, list);
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    const unknown = await post(
      { host: 'localhost:8496', 'mcp-session-id': 'mcp_AAAAAAAAAAAAAAAAAAAAAAAA' },
      list,
    );
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: -32001, message: 'Session not found' } });
    const resume = await post(
      { host: '127.0.0.1', 'x-secai-session': 'mcp_AAAAAAAAAAAAAAAAAAAAAAAA' },
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'x', version: '1' },
        },
      },
    );
    expect(resume.statusCode).toBe(404);
    expect(resume.json()).toMatchObject({ error: { data: { code: 'SESSION_UNKNOWN' } } });
  });

  it('keeps /mcp to MCP clients: the registry is refused, the appliance too', async () => {
    for (const service of ['registry', 'appliance']) {
      const res = await app.inject({
        method: 'POST',
        url: '/mcp',
        headers: { authorization: as(service), 'content-type': 'application/json' },
        payload: '{}',
      });
      assertProblem(res, 403, 'SCOPE_DENIED');
    }
  });
});

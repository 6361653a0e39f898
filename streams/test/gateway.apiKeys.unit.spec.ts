import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki } from '@secai/contracts/testing';
import { API_KEY_CALLER, createGateway } from '../src/http/gateway.js';
import { assertProblem, bearer } from '../src/http/testing.js';

// A gateway that also takes a person's API keys (inference): a valid key is a caller of its own
// (`key:<name>`) that reaches only the scopes listing API_KEY_CALLER; an unknown or revoked key
// is 401; a key can never pass for a service, and service tokens work as before.

const pki = await createTestPki();
const valid = new Map([['sk-secai-good', 'key:laptop']]);
const app = createGateway({
  service: 'inference',
  trust: pki.trust,
  scopes: { chat: ['agent', API_KEY_CALLER], keys: ['cli'] },
  apiKeys: (token) => valid.get(token) ?? null,
  routes: (api) => {
    api.get('/v1/models', { config: { scope: 'chat' } }, (request) => ({ caller: request.caller }));
    api.get('/api/v1/keys', { config: { scope: 'keys' } }, (request) => ({
      caller: request.caller,
    }));
  },
});
beforeAll(() => app.ready());
afterAll(() => app.close());

const withKey = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys beside service tokens', () => {
  it('given a valid key, when it calls a route open to keys, then the caller is the key', async () => {
    const res = await app.inject({ url: '/v1/models', headers: withKey('sk-secai-good') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ caller: 'key:laptop' });
  });

  it('given a valid key, when it calls a route of services only, then 403', async () => {
    const res = await app.inject({ url: '/api/v1/keys', headers: withKey('sk-secai-good') });
    assertProblem(res, 403, 'SCOPE_DENIED');
  });

  it.each(['sk-secai-revoked', 'nonsense', 'key:laptop'])(
    'given the unknown key %s, then 401 API_KEY_INVALID',
    async (key) => {
      const res = await app.inject({ url: '/v1/models', headers: withKey(key) });
      assertProblem(res, 401, 'API_KEY_INVALID');
    },
  );

  it('given a service token, then the service is the caller as before', async () => {
    const res = await app.inject({
      url: '/v1/models',
      headers: { authorization: bearer(pki, 'agent', 'inference') },
    });
    expect(res.json()).toEqual({ caller: 'agent' });
    const cli = await app.inject({
      url: '/api/v1/keys',
      headers: { authorization: bearer(pki, 'cli', 'inference') },
    });
    expect(cli.statusCode).toBe(200);
  });

  it('given no header at all, then 401 TOKEN_MISSING (not an API key check)', async () => {
    const res = await app.inject({ url: '/v1/models' });
    assertProblem(res, 401, 'TOKEN_MISSING');
  });

  it('given a gateway without apiKeys, a key-looking token is a malformed service token', async () => {
    const plain = createGateway({
      service: 'registry',
      trust: pki.trust,
      scopes: { read: [API_KEY_CALLER] },
      routes: (api) => api.get('/x', { config: { scope: 'read' } }, () => ({ ok: true })),
    });
    const res = await plain.inject({ url: '/x', headers: withKey('sk-secai-good') });
    assertProblem(res, 401, 'TOKEN_MALFORMED');
    await plain.close();
  });
});

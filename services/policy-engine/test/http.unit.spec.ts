import { mkdtemp, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { issueBearerToken, type DraftEvent } from '@secai/contracts';
import { createTestPki } from '@secai/contracts/testing';
import { busIn } from '@secai/streams/http/testing';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  buildHttp,
  type DecisionRecorder,
} from '../src/index.js';

// HTTP mapping only (auth, validation, problem bodies, recording before answering); the rules have
// their own tests and the stream-backed recorder its int test.
const pki = await createTestPki();
const recorded: DraftEvent<'policy.decided'>[] = [];
let failRecording = false;
const recorder: DecisionRecorder = {
  record(event) {
    if (failRecording) return Promise.reject(new Error('bus down'));
    recorded.push(event);
    const id = `evt-${recorded.length}`;
    return Promise.resolve({ eventId: id, decisionId: id });
  },
};
const log = pino({ level: 'silent' });
let dir: string;
let engine: PolicyEngine;
let app: ReturnType<typeof buildHttp>;
const token = (service: string, audience = 'policy-engine') =>
  `Bearer ${issueBearerToken(pki.signerFor(service), { audience, now: new Date() })}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-policy-'));
  await cp(DEFAULT_POLICY_DIR, dir, { recursive: true });
  engine = new PolicyEngine();
  const host = new PolicyHost(engine, null, dir, log);
  expect((await host.reload('startup')).ok).toBe(true);
  app = buildHttp({ engine, host, recorder, trust: pki.trust, bus: busIn('connected'), log });
});
afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

const decide = (body: unknown, auth = token('tool-firewall'), raw?: string) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/decide',
    headers: { authorization: auth, 'content-type': 'application/json' },
    payload: raw ?? JSON.stringify(body),
  });

describe('authentication and scopes', () => {
  it('serves /health without a token', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', policyDigest: engine.snapshot!.digest });
  });
  it('answers 401 with a problem body without a token, with a bad one, or one for another service', async () => {
    for (const auth of ['', 'Bearer nonsense', token('tool-firewall', 'registry')]) {
      const res = await decide({ domain: 'agent_risk', subject: 'file_read' }, auth);
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(['TOKEN_MISSING', 'TOKEN_MALFORMED', 'TOKEN_AUDIENCE']).toContain(
        res.json<{ code: string }>().code,
      );
    }
  });
  it('answers 403 when the caller lacks the scope', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/reload',
      headers: { authorization: token('tool-firewall') },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'SCOPE_DENIED' });
  });
});

describe('decide', () => {
  it('answers with the decision, its evidence and the event id, recorded first', async () => {
    const before = recorded.length;
    const res = await decide({
      domain: 'tool_access',
      subject: 'filesystem.read',
      params: { path: '/vault/user_docs/a.txt' },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      decision: string;
      eventId: string;
      evidence: { ruleId: string; policyDigest: string; inputDigest: string; trace: unknown[] };
    }>();
    expect(body).toMatchObject({
      decision: 'allow',
      eventId: `evt-${before + 1}`,
      decisionId: `evt-${before + 1}`,
    });
    expect(body.evidence).toMatchObject({
      ruleId: 'tools.allow.filesystem.read',
      policyDigest: engine.snapshot!.digest,
    });
    expect(body.evidence.inputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(recorded[before]!.data).toMatchObject({
      caller: 'tool-firewall',
      decision: 'allow',
      domain: 'tool_access',
    });
  });
  it('stores an egress URL without its query or credentials', async () => {
    const res = await decide({
      domain: 'egress',
      subject: 'https://huggingface.co/x?token=SECRET#f',
    });
    expect(res.statusCode).toBe(200);
    const event = recorded.at(-1)!;
    expect(JSON.stringify(event)).not.toContain('SECRET');
    expect(event.data.subject.redacted).toBe('https://huggingface.co/x');
  });
  it.each([
    ['an unknown field', { domain: 'tool_access', subject: 'x', sneaky: true }],
    ['a wrong type', { domain: 'tool_access', subject: 42 }],
    ['an oversized subject', { domain: 'tool_access', subject: 'a'.repeat(5000) }],
    ['a bad path_access action', { domain: 'path_access', subject: '/vault', action: 'delete' }],
  ])(
    'turns %s into a 400 problem and a recorded deny, each time it is sent',
    async (_name, body) => {
      // Refusing is not a one-off: the same bad body sent again is refused and recorded again.
      for (const _time of [1, 2]) {
        const before = recorded.length;
        const res = await decide(body);
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({
          code: 'REQUEST_INVALID',
          decision: { decision: 'deny', evidence: { ruleId: 'request.invalid' } },
        });
        expect(recorded.length).toBe(before + 1);
        expect(recorded.at(-1)!.data).toMatchObject({ decision: 'deny', domain: 'invalid' });
      }
    },
  );
  it('turns malformed JSON into REQUEST_MALFORMED and a recorded deny, each time', async () => {
    for (const _time of [1, 2]) {
      const before = recorded.length;
      const res = await decide(null, token('tool-firewall'), '{"domain": "tool_access",');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'REQUEST_MALFORMED',
        decision: { decision: 'deny' },
      });
      expect(recorded.length).toBe(before + 1);
    }
  });
  it('refuses a body over the documented limit with 413', async () => {
    const res = await decide(
      null,
      token('tool-firewall'),
      JSON.stringify({ domain: 'tool_access', subject: 'x'.repeat(70 * 1024) }),
    );
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'REQUEST_TOO_LARGE' });
  });
  it('answers 503 and gives no decision when it cannot be recorded', async () => {
    failRecording = true;
    const res = await decide({ domain: 'agent_risk', subject: 'file_read' });
    failRecording = false;
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'DECISION_NOT_RECORDED' });
  });
  it('decides batches, each recorded', async () => {
    const before = recorded.length;
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/decide/batch',
      headers: { authorization: token('agent'), 'content-type': 'application/json' },
      payload: {
        requests: [
          { domain: 'agent_risk', subject: 'file_read' },
          { domain: 'agent_risk', subject: 'shell_exec' },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ results: { decision: string }[] }>().results.map((r) => r.decision)).toEqual([
      'allow',
      'deny',
    ]);
    expect(recorded.length).toBe(before + 2);
  });
});

describe('policy, stats, reload', () => {
  it('shows the active policy and statistics to readers', async () => {
    const policy = await app.inject({
      method: 'GET',
      url: '/api/v1/policy',
      headers: { authorization: token('cli') },
    });
    expect(policy.json()).toMatchObject({ digest: engine.snapshot!.digest, version: 1 });
    const stats = await app.inject({
      method: 'GET',
      url: '/api/v1/stats',
      headers: { authorization: token('ui') },
    });
    expect(stats.json<{ decisions: number }>().decisions).toBeGreaterThan(0);
  });
  it('keeps the previous policy when a reload is refused, and names the key path', async () => {
    const digest = engine.snapshot!.digest;
    await writeFile(join(dir, 'agent.yaml'), 'version: 1\nbogus_key: true\n');
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/reload',
      headers: { authorization: token('cli') },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json<{ problems: { path: string }[] }>().problems.map((p) => p.path)).toContain(
      'bogus_key',
    );
    expect(engine.snapshot!.digest).toBe(digest);
    await cp(join(DEFAULT_POLICY_DIR, 'agent.yaml'), join(dir, 'agent.yaml'));
    const again = await app.inject({
      method: 'POST',
      url: '/api/v1/reload',
      headers: { authorization: token('appliance') },
    });
    expect(again.json()).toMatchObject({ digest, changed: false });
  });
});

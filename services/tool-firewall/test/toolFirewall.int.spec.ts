import { createHash } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudEvent, EventData } from '@secai/contracts';
import { waitFor } from '@secai/streams/testing';
import { MAX_OUTPUT, startFirewallFixture, type FirewallFixture } from './firewallFixture.js';

/** Asymmetric matchers, typed as what they stand for. */
const anyText = (): string => expect.any(String) as string;
const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string;

// The tool firewall on a real workspace, with a real nats-server and the real policy engine
// (issue 13 §4): traversal and encodings, a link swapped in after the decision, a file renamed
// out between the decision and the open, a huge output, a secret in a file, the rate limit, a
// denied call's evidence, and what another service's token, a forged header or a flood can do.

let f: FirewallFixture;
/** Never readable through the firewall: it lives outside the workspace. */
const CANARY = 'CANARY-outside-the-workspace-7f3a';
const PEM = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');
const SECRETS = {
  pemLine: 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  aws: 'AKIAIOSFODNN7EXAMPLE',
  password: 'Tr0ub4dor-and-3',
};

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function post(body: unknown, caller = 'agent', auth?: string): Promise<Answer> {
  const res = await fetch(`${f.baseUrl}/api/v1/tools/call`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: auth ?? `Bearer ${f.tokenOf(caller)}`,
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    headers: res.headers,
  };
}

const call = (tool: string, args: Record<string, unknown>, caller = 'agent') =>
  post({ tool, arguments: args }, caller);

async function get(path: string, caller = 'cli'): Promise<Answer> {
  const res = await fetch(`${f.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${f.tokenOf(caller)}` },
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    headers: res.headers,
  };
}

/** The events of one call, in order. */
async function eventsOf(callId: string): Promise<CloudEvent[]> {
  return (await f.app.admin.store.load('toolcall', callId)).events.map((e) => e.event);
}

/** The recorded decision a decision id names: a `policy.decided` or a member of a group. */
async function recordedDecision(ref: string): Promise<EventData<'policy.decided'> | undefined> {
  const [id, member] = ref.split('#');
  for (const domain of ['tool_access', 'path_access']) {
    for (const { event } of (await f.app.admin.store.load('decision', domain)).events) {
      if (event.id !== id) continue;
      if (member === undefined) return event.data as EventData<'policy.decided'>;
      return (event.data as EventData<'policy.decisions.recorded'>).decisions[Number(member)];
    }
  }
  return undefined;
}

const docs = (...parts: string[]) => join(f.root, 'user_docs', ...parts);
const outputs = (...parts: string[]) => join(f.root, 'outputs', ...parts);

beforeAll(async () => {
  f = await startFirewallFixture();
  await writeFile(join(f.outside, 'secret.txt'), `${CANARY}\n`);
});

afterAll(async () => {
  await f?.stop();
});

beforeEach(() => {
  // Every test starts with full buckets and no hooks.
  f.clock.now += 3_600_000;
  delete f.hooks.beforeOpen;
  delete f.hooks.afterOpen;
});

describe('without an active policy', () => {
  it('runs nothing: 503 POLICY_UNAVAILABLE with Retry-After, recorded', async () => {
    await writeFile(docs('early.txt'), 'early');
    const r = await call('filesystem.read', { path: '/vault/user_docs/early.txt' });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ code: 'POLICY_UNAVAILABLE', stage: 'policy' });
    expect(r.headers.get('retry-after')).toBe('5');
    expect(JSON.stringify(r.body)).not.toContain('early');
    const [denied] = await eventsOf(r.body.callId as string);
    expect(denied?.type).toBe('tool.call.denied');
    const health = await fetch(`${f.baseUrl}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ policy: 'missing' });
  });
});

describe('with the shipped policy', () => {
  beforeAll(async () => {
    await f.loadPolicy();
    await writeFile(docs('notes.txt'), 'first line\nsecond line\n');
  });

  describe('a call that is allowed', () => {
    it('reads a file, cites its decisions, and records allowed then completed', async () => {
      const r = await call('filesystem.read', { path: '/vault/user_docs/notes.txt' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        tool: 'filesystem.read',
        output: 'first line\nsecond line\n',
        truncated: false,
        redactions: {},
      });
      const ids = r.body.decisionIds as string[];
      expect(ids).toHaveLength(2);
      const decided = await Promise.all(ids.map(recordedDecision));
      expect(decided.map((d) => d?.evidence.ruleId).sort()).toEqual([
        'agent.workspace.readable',
        'tools.allow.filesystem.read',
      ]);
      const events = await eventsOf(r.body.callId as string);
      expect(events.map((e) => e.type)).toEqual(['tool.call.allowed', 'tool.call.completed']);
      const allowed = events[0]!.data as EventData<'tool.call.allowed'>;
      expect(allowed.caller).toBe('service:agent');
      expect(allowed.arguments.summary).toEqual([
        expect.objectContaining({
          name: 'path',
          kind: 'path',
          value: '/vault/user_docs/notes.txt',
        }),
      ]);
      expect(events[1]!.id).toBe(r.body.eventId);
    });

    it('answers an OpenAI tool call with a tool message, as a client appends it', async () => {
      const r = await post({
        id: 'call_openai_1',
        type: 'function',
        function: { name: 'filesystem_read', arguments: '{"path":"/vault/user_docs/notes.txt"}' },
      });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        role: 'tool',
        tool_call_id: 'call_openai_1',
        content: 'first line\nsecond line\n',
      });
      expect(r.headers.get('x-secai-call-id')).toBe('call_openai_1');
      expect(r.headers.get('x-secai-truncated')).toBe('false');
      const bad = await post({
        id: 'call_openai_2',
        type: 'function',
        function: { name: 'filesystem_read', arguments: '{path:' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ code: 'ARGUMENTS_INVALID', stage: 'validation' });
    });

    it('lists, hashes and searches, never following a link out', async () => {
      await mkdir(docs('dir', 'sub'), { recursive: true });
      await writeFile(docs('dir', 'a.txt'), 'alpha\nneedle one\n');
      await writeFile(docs('dir', 'sub', 'b.txt'), 'Needle two\n');
      await symlink(join(f.outside, 'secret.txt'), docs('dir', 'out.txt'));
      await symlink(f.outside, docs('dir', 'outdir'));
      const list = await call('filesystem.list', { path: '/vault/user_docs/dir' });
      expect(list.status).toBe(200);
      expect(JSON.parse(list.body.output as string)).toEqual({
        path: '/vault/user_docs/dir',
        entries: [
          { name: 'a.txt', type: 'file', bytes: 17 },
          { name: 'out.txt', type: 'symlink' },
          { name: 'outdir', type: 'symlink' },
          { name: 'sub', type: 'directory' },
        ],
        total: 4,
      });
      const hash = await call('filesystem.hash', { path: '/vault/user_docs/dir/a.txt' });
      expect(JSON.parse(hash.body.output as string)).toEqual({
        path: '/vault/user_docs/dir/a.txt',
        sha256: `sha256:${createHash('sha256').update('alpha\nneedle one\n').digest('hex')}`,
        bytes: 17,
      });
      const search = await call('filesystem.search', {
        path: '/vault/user_docs/dir',
        query: 'NEEDLE',
      });
      const found = JSON.parse(search.body.output as string) as {
        matches: { path: string; line: number; text: string }[];
      };
      expect(found.matches).toEqual([
        { path: '/vault/user_docs/dir/a.txt', line: 2, text: 'needle one' },
        { path: '/vault/user_docs/dir/sub/b.txt', line: 1, text: 'Needle two' },
      ]);
      const canary = await call('filesystem.search', { path: '/vault/user_docs', query: 'CANARY' });
      expect(canary.status).toBe(200);
      expect(canary.body.output).not.toContain(CANARY);
    });

    it('writes atomically in outputs, and never replaces a link', async () => {
      const r = await call('filesystem.write', {
        path: '/vault/outputs/summary.md',
        content: '# done\n',
      });
      expect(r.status).toBe(200);
      expect(await readFile(outputs('summary.md'), 'utf8')).toBe('# done\n');
      const again = await call('filesystem.write', {
        path: '/vault/outputs/summary.md',
        content: 'v2',
      });
      expect(again.status).toBe(200);
      expect(await readFile(outputs('summary.md'), 'utf8')).toBe('v2');
      await symlink(join(f.outside, 'secret.txt'), outputs('link.md'));
      const link_ = await call('filesystem.write', {
        path: '/vault/outputs/link.md',
        content: 'x',
      });
      expect(link_.status).toBe(403);
      expect(link_.body).toMatchObject({ code: 'PATH_ESCAPE', stage: 'path' });
      expect(await readFile(join(f.outside, 'secret.txt'), 'utf8')).toBe(`${CANARY}\n`);
      const inDocs = await call('filesystem.write', {
        path: '/vault/user_docs/x.md',
        content: 'x',
      });
      expect(inDocs.status).toBe(403);
      expect(inDocs.body).toMatchObject({
        code: 'TOOL_DENIED',
        ruleId: 'tools.allow.filesystem.write.paths_allowlist_miss',
      });
    });
  });

  describe('traversal and encodings', () => {
    it.each([
      [
        '../ up and out',
        '/vault/user_docs/../../etc/passwd',
        'tools.allow.filesystem.read.paths_denylist',
      ],
      [
        '../ into another place',
        '/vault/user_docs/../outputs/summary.md',
        'tools.allow.filesystem.read.paths_allowlist_miss',
      ],
      [
        'an absolute path outside',
        '/srv/outside/secret.txt',
        'tools.allow.filesystem.read.paths_allowlist_miss',
      ],
    ])(
      '%s is normalised first, then denied by policy with its evidence',
      async (_why, path, rule) => {
        const r = await call('filesystem.read', { path });
        expect(r.status).toBe(403);
        expect(r.body).toMatchObject({ code: 'TOOL_DENIED', stage: 'policy', ruleId: rule });
        expect(JSON.stringify(r.body)).not.toContain(CANARY);
      },
    );

    it.each([
      ['%2e%2e', '/vault/user_docs/%2e%2e/%2e%2e/etc/passwd'],
      ['a double encoding', '/vault/user_docs/%252e%252e/%252e%252e/etc/passwd'],
      ['an encoded NUL', '/vault/user_docs/notes.txt%00.png'],
      ['a raw NUL', '/vault/user_docs/notes.txt\u0000.png'],
      ['a division slash', '/vault/user_docs/..\u2215..\u2215etc\u2215passwd'],
      ['a full-width solidus and dots', '/vault/user_docs/\uff0e\uff0e\uff0f\uff0e\uff0e\uff0fetc'],
      ['a backslash', '/vault/user_docs\\..\\..\\etc\\passwd'],
      ['a combining mark', '/vault/user_docs/.\u0338./x'],
    ])(
      '%s is refused before anything is asked or opened (and the engine refuses it too)',
      async (_why, path) => {
        const r = await call('filesystem.read', { path });
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({
          code: 'PATH_ENCODING',
          stage: 'validation',
          decisionIds: [],
        });
        const [denied] = await eventsOf(r.body.callId as string);
        expect(denied?.type).toBe('tool.call.denied');
        expect((denied!.data as EventData<'tool.call.denied'>).decisions).toEqual([]);
        // The engine, asked directly, refuses the same text (defence in depth, not a stand-in).
        const engine = await f.askEngine({ domain: 'path_access', subject: path, action: 'read' });
        expect(engine.decision).toBe('deny');
      },
    );
  });

  describe('paths that change under the call', () => {
    it('a link swapped in after the decision is refused, nothing is read', async () => {
      await writeFile(docs('report.txt'), 'the report');
      f.hooks.beforeOpen = async ({ disk }) => {
        await rm(disk);
        await symlink(join(f.outside, 'secret.txt'), disk);
      };
      const r = await call('filesystem.read', { path: '/vault/user_docs/report.txt' });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ code: 'PATH_ESCAPE', stage: 'path' });
      expect(JSON.stringify(r.body)).not.toContain(CANARY);
      // The policy had allowed the name: the refusal cites those decisions, then the path.
      expect(r.body.decisionIds).toHaveLength(2);
      const events = await eventsOf(r.body.callId as string);
      expect(events.map((e) => e.type)).toEqual(['tool.call.denied']);
    });

    it('a directory swapped for a link out after the decision is refused (the descriptor is checked)', async () => {
      await mkdir(docs('case'), { recursive: true });
      await writeFile(docs('case', 'secret.txt'), 'inside');
      f.hooks.beforeOpen = async () => {
        await rm(docs('case'), { recursive: true });
        await symlink(f.outside, docs('case'));
      };
      const r = await call('filesystem.read', { path: '/vault/user_docs/case/secret.txt' });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ code: 'PATH_ESCAPE' });
      expect(JSON.stringify(r.body)).not.toContain(CANARY);
    });

    it('a file renamed out between the open and the check is refused', async () => {
      await writeFile(docs('moving.txt'), 'MOVED-CONTENT');
      f.hooks.afterOpen = async ({ disk }) => {
        await rename(disk, join(f.outside, 'moved.txt'));
      };
      const r = await call('filesystem.read', { path: '/vault/user_docs/moving.txt' });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ code: 'PATH_ESCAPE', stage: 'path' });
      expect(JSON.stringify(r.body)).not.toContain('MOVED-CONTENT');
    });

    it('a file renamed out between the decision and the open is not found', async () => {
      await writeFile(docs('gone.txt'), 'gone');
      f.hooks.beforeOpen = async ({ disk }) => {
        await rename(disk, join(f.outside, 'gone.txt'));
      };
      const r = await call('filesystem.read', { path: '/vault/user_docs/gone.txt' });
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ code: 'PATH_NOT_FOUND', stage: 'path' });
    });

    it('a link inside the workspace to another allowed place is decided again and followed', async () => {
      await mkdir(docs('real'), { recursive: true });
      await writeFile(docs('real', 'a.txt'), 'through a link');
      await symlink(docs('real'), docs('alias'));
      const r = await call('filesystem.read', { path: '/vault/user_docs/alias/a.txt' });
      expect(r.status).toBe(200);
      expect(r.body.output).toBe('through a link');
      expect(r.body.decisionIds).toHaveLength(4);
    });

    it('a link inside the workspace to a place this tool may not read is refused', async () => {
      await writeFile(outputs('private.txt'), 'not for filesystem.read');
      await symlink(join(f.root, 'outputs'), docs('to-outputs'));
      const r = await call('filesystem.read', { path: '/vault/user_docs/to-outputs/private.txt' });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({
        code: 'PATH_ESCAPE',
        ruleId: 'tools.allow.filesystem.read.paths_allowlist_miss',
      });
    });

    it('a file with a second hard link is refused (the other name may be anywhere)', async () => {
      await writeFile(join(f.outside, 'linked.txt'), 'hard');
      await link(join(f.outside, 'linked.txt'), docs('hard.txt'));
      const r = await call('filesystem.read', { path: '/vault/user_docs/hard.txt' });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ code: 'PATH_ESCAPE' });
    });
  });

  describe('outputs', () => {
    it('a huge file comes back cut at the limit, flagged, with its real size recorded', async () => {
      const big = 'x'.repeat(1023).concat('\n').repeat(512); // 512 KiB
      await writeFile(docs('big.txt'), big);
      const r = await call('filesystem.read', { path: '/vault/user_docs/big.txt' });
      expect(r.status).toBe(200);
      expect(r.body.truncated).toBe(true);
      expect(Buffer.byteLength(r.body.output as string)).toBe(MAX_OUTPUT);
      const completed = (await eventsOf(r.body.callId as string))[1]!
        .data as EventData<'tool.call.completed'>;
      expect(completed).toMatchObject({ truncated: true, producedBytes: 512 * 1024 });
      expect(completed.output.bytes).toBe(MAX_OUTPUT);
    });

    it('a secret in a file is redacted in the answer and never appears in any event', async () => {
      const text = `config\n${PEM}\naws_access_key_id = ${SECRETS.aws}\npassword = ${SECRETS.password}\n`;
      await writeFile(docs('creds.txt'), text);
      const read = await call('filesystem.read', { path: '/vault/user_docs/creds.txt' });
      expect(read.status).toBe(200);
      expect(read.body.redactions).toEqual({ private_key: 1, aws_access_key: 1, password: 1 });
      const search = await call('filesystem.search', {
        path: '/vault/user_docs',
        query: 'password',
      });
      const written = await call('filesystem.write', {
        path: '/vault/outputs/leak.txt',
        content: `password = ${SECRETS.password}`,
      });
      expect(written.status).toBe(200);
      for (const answer of [read, search]) {
        const body = JSON.stringify(answer.body);
        for (const secret of Object.values(SECRETS)) expect(body).not.toContain(secret);
      }
      expect(read.body.output).toContain('[REDACTED:private_key]');
      const history = await f.history();
      for (const { bytes, payload } of history) {
        const raw = Buffer.from(bytes).toString('utf8');
        for (const secret of Object.values(SECRETS)) {
          expect(raw).not.toContain(secret);
          expect(payload).not.toContain(secret);
        }
      }
      // The write's content is in its events as a length and a digest only.
      const allowed = (await eventsOf(written.body.callId as string))[0]!
        .data as EventData<'tool.call.allowed'>;
      expect(allowed.arguments.summary?.find((a) => a.name === 'content')).toEqual({
        name: 'content',
        kind: 'string',
        bytes: Buffer.byteLength(`password = ${SECRETS.password}`),
        digest: matching(/^sha256:/),
      });
    });
  });

  describe('rate limit', () => {
    it('allows the burst (20), then 429 with Retry-After; another caller and another tool go on', async () => {
      await writeFile(docs('rl.txt'), 'rl');
      const args = { path: '/vault/user_docs/rl.txt' };
      for (let i = 0; i < 20; i++) {
        const r = await call('filesystem.hash', args, 'agent');
        expect(r.status, `call ${i + 1}`).toBe(200);
      }
      const flood = await call('filesystem.hash', args, 'agent');
      expect(flood.status).toBe(429);
      expect(flood.body).toMatchObject({
        code: 'RATE_LIMITED',
        stage: 'rate_limit',
        decisionIds: [],
      });
      expect(flood.headers.get('retry-after')).toBe('1');
      expect((await eventsOf(flood.body.callId as string))[0]?.type).toBe('tool.call.denied');
      expect((await call('filesystem.hash', args, 'ui')).status).toBe(200);
      expect((await call('filesystem.read', args, 'agent')).status).toBe(200);
      f.clock.now += 500; // 120 a minute: one token every 500 ms
      expect((await call('filesystem.hash', args, 'agent')).status).toBe(200);
      expect((await call('filesystem.hash', args, 'agent')).status).toBe(429);
    });

    it('throttles a flood of malformed calls too', async () => {
      let last = 0;
      for (let i = 0; i < 21; i++) last = (await call('Not a tool!', {}, 'cli')).status;
      expect(last).toBe(429);
    });
  });

  describe('denied calls', () => {
    it('answer 403 with the rule, a decision id that resolves to the recorded decision, and its evidence digest', async () => {
      const r = await call('filesystem.read', { path: '/etc/shadow' });
      expect(r.status).toBe(403);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({
        code: 'TOOL_DENIED',
        stage: 'policy',
        ruleId: 'tools.allow.filesystem.read.paths_denylist',
        decisionId: anyText(),
        inputDigest: matching(/^sha256:[0-9a-f]{64}$/),
        eventId: anyText(),
      });
      const recorded = await recordedDecision(r.body.decisionId as string);
      expect(recorded).toMatchObject({
        decision: 'deny',
        evidence: {
          ruleId: 'tools.allow.filesystem.read.paths_denylist',
          inputDigest: r.body.inputDigest,
        },
      });
      const [denied] = await eventsOf(r.body.callId as string);
      expect(denied).toMatchObject({ type: 'tool.call.denied', id: r.body.eventId });
      expect(denied!.data).toMatchObject({
        stage: 'policy',
        code: 'TOOL_DENIED',
        ruleId: 'tools.allow.filesystem.read.paths_denylist',
        decisionId: r.body.decisionId,
      });
    });

    it('a tool the policy denies by name, with no adapter, is decided and denied the same way', async () => {
      const r = await call('shell.exec', { cmd: 'cat /etc/shadow' });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ code: 'TOOL_DENIED', ruleId: 'tools.deny.shell.exec' });
    });

    it('an undeclared or dangerous argument is refused at validation', async () => {
      const r = await call('filesystem.read', { path: '/vault/user_docs/notes.txt', api_key: 'x' });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'ARGUMENT_DANGEROUS', stage: 'validation' });
    });
  });

  describe('callers', () => {
    it('another service’s token (inference: it returns tool calls, it never runs them) is 403', async () => {
      const r = await call('filesystem.read', { path: '/vault/user_docs/notes.txt' }, 'inference');
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('SCOPE_DENIED');
    });

    it('a forged header without a valid token is 401', async () => {
      for (const auth of ['', 'Bearer secai1.e30.AAAA', 'Bearer nonsense']) {
        const res = await fetch(`${f.baseUrl}/api/v1/tools/call`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: auth,
            'x-secai-caller': 'agent',
          },
          body: JSON.stringify({
            tool: 'filesystem.read',
            arguments: { path: '/vault/user_docs/notes.txt' },
          }),
        });
        expect(res.status, auth).toBe(401);
      }
    });

    it('a person’s API key works until it is revoked; an unknown key is 401', async () => {
      const key = await f.createKey('laptop');
      const args = { tool: 'filesystem.read', arguments: { path: '/vault/user_docs/notes.txt' } };
      const ok = await post(args, 'agent', `Bearer ${key}`);
      expect(ok.status).toBe(200);
      const allowed = (await eventsOf(ok.body.callId as string))[0]!
        .data as EventData<'tool.call.allowed'>;
      expect(allowed.caller).toBe('key:laptop');
      expect((await post(args, 'agent', `Bearer ${key}x`)).status).toBe(401);
      await f.revokeKey('laptop');
      const revoked = await post(args, 'agent', `Bearer ${key}`);
      expect(revoked.status).toBe(401);
      expect(revoked.body.code).toBe('API_KEY_INVALID');
    });

    it('a call id is used once: a replay is refused and recorded under a new id', async () => {
      const body = {
        tool: 'filesystem.read',
        arguments: { path: '/vault/user_docs/notes.txt' },
        callId: 'call-once-1',
      };
      expect((await post(body)).status).toBe(200);
      const replay = await post(body);
      expect(replay.status).toBe(409);
      expect(replay.body.code).toBe('CALL_ID_REUSED');
      expect(replay.body.callId).not.toBe('call-once-1');
      expect((await eventsOf('call-once-1')).map((e) => e.type)).toEqual([
        'tool.call.allowed',
        'tool.call.completed',
      ]);
    });
  });

  describe('reading the firewall', () => {
    it('is healthy once a policy is active', async () => {
      const health = await fetch(`${f.baseUrl}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', policy: 'active', adapters: 5 });
    });

    it('lists its tools with what the policy says, and as OpenAI functions', async () => {
      const r = await get('/api/v1/tools', 'agent');
      expect(r.status).toBe(200);
      const tools = r.body.tools as {
        name: string;
        policy: string;
        openai: { function: { name: string } };
      }[];
      expect(tools.map((t) => [t.name, t.policy, t.openai.function.name])).toEqual([
        ['filesystem.read', 'allowed', 'filesystem_read'],
        ['filesystem.write', 'allowed', 'filesystem_write'],
        ['filesystem.list', 'allowed', 'filesystem_list'],
        ['filesystem.hash', 'allowed', 'filesystem_hash'],
        ['filesystem.search', 'allowed', 'filesystem_search'],
      ]);
    });

    it('shows the recent calls, newest first, to operators only', async () => {
      const r = await call('filesystem.read', { path: '/vault/user_docs/notes.txt' });
      await waitFor(
        () =>
          f.firewall.view.runner.document.log.calls.some(
            (c) => c.callId === r.body.callId && c.outcome === 'completed',
          ),
        30_000,
        'the call in the log',
      );
      const log = await get('/api/v1/calls?limit=5', 'cli');
      expect(log.status).toBe(200);
      const calls = log.body.calls as { callId: string; outcome: string }[];
      expect(calls).toHaveLength(5);
      expect(calls[0]).toMatchObject({ callId: r.body.callId, outcome: 'completed' });
      expect((await get('/api/v1/calls', 'agent')).status).toBe(403);
      expect((await get('/api/v1/calls?limit=0', 'cli')).status).toBe(400);
    });
  });
});

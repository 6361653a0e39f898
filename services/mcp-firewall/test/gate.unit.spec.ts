import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DecisionRequestData, DecisionResponseData, DraftEvent } from '@secai/contracts';
import type { EventStore } from '@secai/streams';
import type { Decide, DecideOutcome } from '../src/decide.js';
import { McpFirewallError } from '../src/errors.js';
import { Gate } from '../src/gate.js';
import { McpPolicyCache } from '../src/policy.js';
import { Sessions } from '../src/sessions.js';
import { LiveState } from '../src/state.js';
import { ToolCatalog } from '../src/toolCatalog.js';
import { digestOf } from '../src/text.js';
import type { Upstreams } from '../src/upstream/upstreams.js';

// The gate's rules with its edges replaced (given/when/then): the event store keeps the drafts it
// is given, the engine is a function, the upstreams answer from memory. What is checked: which
// refusals are the firewall's and recorded, that the engine's answer is final, the server's rate
// limit across sessions, and that one session's calls run one at a time.

const log = pino({ level: 'silent' });

interface World {
  gate: Gate;
  sessions: Sessions;
  appended: DraftEvent[];
  asked: DecisionRequestData[];
  upstreamCalls: string[];
  session: (caller?: string) => Promise<string>;
}

const TOOLS = [
  { name: 'read', description: 'Read a note.', inputSchema: { type: 'object' } },
  { name: 'send', description: 'Send a note.', inputSchema: { type: 'object' } },
];

function mcpDocument(rateLimit?: { requests_per_minute: number; burst_size: number }) {
  return {
    version: 1,
    default_action: 'deny',
    servers: [
      {
        name: 'notes',
        trust_level: 'trusted',
        url: 'http://127.0.0.1:1/mcp',
        ...(rateLimit ? { rate_limit: rateLimit } : {}),
        tools: [
          { name: 'read', action: 'allow', taint: ['private'], outward: false },
          { name: 'send', action: 'allow', outward: true },
        ],
      },
    ],
  };
}

function answer(decision: 'allow' | 'deny' | 'ask', ruleId = 'mcp.tool_allowed'): DecideOutcome {
  const response: DecisionResponseData = {
    decision,
    reason: `${decision} by the test`,
    evidence: {
      domain: 'mcp_call',
      ruleId,
      policyDigest: null,
      inputDigest: digestOf('x'),
      evaluatedAt: '2030-01-01T00:00:00.000Z',
      durationMicros: 1,
      trace: [],
    },
    eventId: 'e1',
    decisionId: 'e1#0',
  };
  return { ok: true, response };
}

async function world(o: {
  policy?: Record<string, unknown> | null;
  decide?: Decide;
  upstreamDelay?: () => Promise<void>;
}): Promise<World> {
  const appended: DraftEvent[] = [];
  const store = {
    append: (drafts: readonly DraftEvent[]) => {
      appended.push(...drafts);
      return Promise.resolve({ sequences: [], ids: [], lastSequence: 0, duplicates: 0 });
    },
  } as unknown as EventStore;
  const state = new LiveState(store);
  const documents = o.policy === null ? null : JSON.stringify({ mcp: o.policy ?? mcpDocument() });
  const policy = new McpPolicyCache(() =>
    Promise.resolve(
      documents === null ? null : ({ digest: digestOf(documents), documents } as never),
    ),
  );
  const upstreamCalls: string[] = [];
  const upstreams = {
    list: () => Promise.resolve(TOOLS),
    request: async (_server: unknown, method: string, params: { name?: string }) => {
      upstreamCalls.push(`${method} ${params.name ?? ''}`);
      await o.upstreamDelay?.();
      return { content: [{ type: 'text', text: `done: ${params.name ?? ''}` }] };
    },
  } as unknown as Upstreams;
  const asked: DecisionRequestData[] = [];
  const decide: Decide = (request) => {
    asked.push(request);
    return (o.decide ?? (() => Promise.resolve(answer('allow'))))(request);
  };
  const sessions = new Sessions(state);
  const catalog = new ToolCatalog({ upstreams, state, log });
  const gate = new Gate({
    policy,
    decide,
    upstreams,
    catalog,
    sessions,
    state,
    log,
    outputLimitBytes: 1024 * 1024,
    now: () => 0, // no refill: a bucket's burst is all there is
  });
  const view = await policy.read();
  if (view.ok) await catalog.approve(view.policy, { server: 'notes', all: true, operator: 'test' });
  return {
    gate,
    sessions,
    appended,
    asked,
    upstreamCalls,
    session: async (caller = 'service:agent') => (await sessions.open(caller, {})).id,
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof McpFirewallError) return err.code;
    throw err;
  }
  return 'none';
}

const decided = (w: World) =>
  w.appended
    .filter((d) => d.type === 'mcp.call.decided')
    .map((d) => d.data as Record<string, unknown>);

describe('the gate', () => {
  it('given no active policy, then every call is refused and recorded as the firewall’s refusal', async () => {
    const w = await world({ policy: null });
    const id = await w.session();
    expect(
      await codeOf(w.gate.callTool({ session: id, caller: 'service:agent' }, 'read', {})),
    ).toBe('POLICY_UNAVAILABLE');
    expect(decided(w)).toEqual([
      expect.objectContaining({
        decision: 'deny',
        by: 'firewall',
        ruleId: 'firewall.policy_unavailable',
      }),
    ]);
    expect(w.upstreamCalls).toEqual([]);
  });

  it('given the engine does not answer, then the call is refused, never carried out', async () => {
    const w = await world({
      decide: () => Promise.resolve({ ok: false, code: 'COMMAND_TIMEOUT', message: 'no answer' }),
    });
    const ctx = { session: await w.session(), caller: 'service:agent' };
    expect(await codeOf(w.gate.callTool(ctx, 'read', {}))).toBe('POLICY_UNAVAILABLE');
    expect(w.upstreamCalls).toEqual([]);
  });

  it('given the engine asks or denies, then its rule and decision are in the refusal, and the upstream is not called', async () => {
    for (const [decision, code] of [
      ['ask', 'APPROVAL_REQUIRED'],
      ['deny', 'POLICY_DENIED'],
    ] as const) {
      const w = await world({ decide: () => Promise.resolve(answer(decision, 'mcp.rule_x')) });
      const ctx = { session: await w.session(), caller: 'service:agent' };
      let err: McpFirewallError | undefined;
      try {
        await w.gate.callTool(ctx, 'send', { to: 'x' });
      } catch (e) {
        err = e as McpFirewallError;
      }
      expect(err?.code).toBe(code);
      expect(err?.detail).toMatchObject({ ruleId: 'mcp.rule_x', decisionId: 'e1#0' });
      expect(err?.toMcpError().data).toMatchObject({
        code,
        ruleId: 'mcp.rule_x',
        decisionId: 'e1#0',
      });
      expect(w.upstreamCalls).toEqual([]);
      expect(decided(w).at(-1)).toMatchObject({ decision, by: 'policy', decisionId: 'e1#0' });
    }
  });

  it('given a call, then the engine is asked with the session’s taint and the arguments as digests, never raw past 2 KiB', async () => {
    const w = await world({});
    const ctx = { session: await w.session(), caller: 'service:agent' };
    await w.gate.callTool(ctx, 'read', { path: '/notes/a' });
    await w.gate.callTool(ctx, 'send', { body: 'b'.repeat(3000) });
    const [first, second] = w.asked.filter((r) => r.mcp?.method === 'tools/call');
    expect(first).toMatchObject({
      domain: 'mcp_call',
      subject: '',
      mcp: { server: 'notes', tool: 'read', taint: [] },
    });
    expect(second!.mcp!.taint).toEqual(['private']);
    expect(second!.mcp!.arguments[0]).toEqual({
      name: 'body',
      bytes: 3000,
      digest: digestOf(JSON.stringify('b'.repeat(3000))),
    });
  });

  it('given the server’s rate limit, then calls past its burst are refused in every session, the first refusal recorded', async () => {
    const w = await world({ policy: mcpDocument({ requests_per_minute: 60, burst_size: 2 }) });
    const a = { session: await w.session(), caller: 'service:agent' };
    const b = { session: await w.session('service:ui'), caller: 'service:ui' };
    expect(await codeOf(w.gate.callTool(a, 'read', {}))).toBe('none');
    expect(await codeOf(w.gate.callTool(b, 'read', {}))).toBe('none');
    expect(await codeOf(w.gate.callTool(a, 'read', {}))).toBe('RATE_LIMITED');
    expect(await codeOf(w.gate.callTool(b, 'read', {}))).toBe('RATE_LIMITED');
    await new Promise((r) => setImmediate(r));
    expect(decided(w).filter((d) => d.ruleId === 'firewall.rate_limited.server')).toHaveLength(1);
  });

  it('given two calls of one session at once, then the second is decided after the first applied its taint', async () => {
    let release!: () => void;
    const gateOpen = new Promise<void>((r) => (release = r));
    const w = await world({ upstreamDelay: () => gateOpen });
    const ctx = { session: await w.session(), caller: 'service:agent' };
    const read = w.gate.callTool(ctx, 'read', {});
    const send = w.gate.callTool(ctx, 'send', {});
    await new Promise((r) => setImmediate(r));
    // The send waits: only the read has been asked about.
    expect(w.asked.filter((r) => r.mcp?.method === 'tools/call').map((r) => r.mcp!.tool)).toEqual([
      'read',
    ]);
    release();
    await Promise.all([read, send]);
    const sendAsked = w.asked.find((r) => r.mcp?.tool === 'send')!;
    expect(sendAsked.mcp!.taint).toEqual(['private']);
  });

  it('given a tool no upstream lists, then it is refused by the firewall with no server named', async () => {
    const w = await world({});
    const ctx = { session: await w.session(), caller: 'service:agent' };
    expect(await codeOf(w.gate.callTool(ctx, 'delete_everything', {}))).toBe('TOOL_UNKNOWN');
    expect(decided(w).at(-1)).toMatchObject({
      server: null,
      by: 'firewall',
      ruleId: 'firewall.tool_unknown',
    });
    expect(w.asked).toEqual([]);
  });
});

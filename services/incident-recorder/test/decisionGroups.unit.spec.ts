import { beforeAll, describe, expect, it } from 'vitest';
import type { EventData } from '@secai/contracts';
import {
  OBSERVED_TYPES,
  defaultIncidentPolicy,
  initialBurstState,
  observeDecision,
  type IncidentPolicy,
  type ObservedEvent,
} from '../src/index.js';

// Issue 13 §1: the policy engine commits decisions that arrive together as one
// `policy.decisions.recorded`. The denial-burst rules count every member, so a burst cannot hide
// inside groups; the causes they cite are events (a group's members share one).

let policy: IncidentPolicy;
beforeAll(async () => {
  policy = (await defaultIncidentPolicy()).policy;
});

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

function denial(tool: string, caller = 'tool-firewall'): EventData<'policy.decided'> {
  return {
    caller: caller as 'tool-firewall',
    domain: 'tool_access',
    // A distinct subject per tool: only the caller-wide burst rule applies.
    subject: {
      digest: `sha256:${Buffer.from(tool).toString('hex').padStart(64, '0').slice(-64)}`,
      redacted: tool,
    },
    input: '{}',
    decision: 'deny',
    reason: 'denied',
    evidence: {
      domain: 'tool_access',
      ruleId: `tools.deny.${tool}`,
      policyDigest: null,
      inputDigest: `sha256:${'5'.repeat(64)}`,
      evaluatedAt: new Date(T0).toISOString(),
      durationMicros: 3,
      trace: [],
    },
  };
}

function groupEvent(id: string, decisions: EventData<'policy.decided'>[], s = 0): ObservedEvent {
  return {
    id,
    type: 'policy.decisions.recorded',
    source: 'secai://policy-engine',
    subject: 'decision/tool_access',
    time: new Date(T0 + s * 1000).toISOString(),
    correlationId: id,
    data: { decisions },
  };
}

const tools = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => denial(`tool_${String.fromCharCode(97 + offset + i)}`));

describe('denial bursts over grouped decisions', () => {
  it('consumes the group events', () => {
    expect(OBSERVED_TYPES).toContain('policy.decisions.recorded');
  });

  it('given ten denials from one caller committed in one group, that group is a tool_call_burst', () => {
    const [o, ...rest] = observeDecision(initialBurstState(), groupEvent('g1', tools(10)), policy);
    expect(rest).toEqual([]);
    expect(o).toMatchObject({
      class: 'tool_call_burst',
      subject: 'service/tool-firewall',
      causeId: 'g1',
      causeIds: ['g1'],
    });
    expect(o!.description).toMatch(/^10 policy denials/);
  });

  it('given nine denials in a group, the tenth, alone, completes the burst', () => {
    const state = initialBurstState();
    expect(observeDecision(state, groupEvent('g1', tools(9)), policy)).toEqual([]);
    const single: ObservedEvent = {
      ...groupEvent('e2', [], 1),
      type: 'policy.decided',
      data: denial('tool_z'),
    };
    const [o] = observeDecision(state, single, policy);
    expect(o).toMatchObject({ class: 'tool_call_burst', causeId: 'e2', causeIds: ['g1', 'e2'] });
  });

  it('counts allowed members as nothing, and members of other callers apart', () => {
    const allowed = { ...denial('tool_a'), decision: 'allow' as const };
    const mixed = [
      ...tools(5),
      ...Array.from({ length: 5 }, () => allowed),
      ...tools(5, 5).map((d) => ({ ...d, caller: 'agent' as const })),
    ];
    expect(observeDecision(initialBurstState(), groupEvent('g1', mixed), policy)).toEqual([]);
  });

  it('gives one observation per caller when a group holds two bursts', () => {
    const both = [...tools(10), ...tools(10).map((d) => ({ ...d, caller: 'agent' as const }))];
    const out = observeDecision(initialBurstState(), groupEvent('g1', both), policy);
    expect(out.map((o) => [o.class, o.subject])).toEqual([
      ['tool_call_burst', 'service/tool-firewall'],
      ['tool_call_burst', 'service/agent'],
    ]);
  });

  it('given the same request denied three times inside one group, it is a policy_bypass_attempt', () => {
    const same = Array.from({ length: 3 }, () => denial('shell_exec'));
    const out = observeDecision(initialBurstState(), groupEvent('g1', same), policy);
    expect(out).toEqual([
      expect.objectContaining({ class: 'policy_bypass_attempt', causeIds: ['g1'] }),
    ]);
  });
});

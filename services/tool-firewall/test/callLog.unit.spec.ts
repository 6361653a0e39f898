import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '@secai/contracts';
import { ProjectionRunner, type ProjectedEvent } from '@secai/projections';
import { MAX_CALLS, callLogProjection, firewallViewProjection } from '../src/index.js';

// The call log as a fold of the firewall's own events: given events, the calls it shows.

let seq = 0;
const D = `sha256:${'d'.repeat(64)}`;
const args = { digest: D, bytes: 2, summary: [] };
const ev = (type: string, data: Record<string, unknown>): ProjectedEvent => ({
  seq: ++seq,
  event: {
    type,
    subject: `toolcall/${String(data.callId)}`,
    time: `2026-12-07T10:00:${String(seq % 60).padStart(2, '0')}.000Z`,
    data,
  } as unknown as CloudEvent,
});
const decision = {
  domain: 'tool_access',
  decision: 'allow',
  decisionId: 'dec-1',
  ruleId: 'r',
  inputDigest: D,
  path: null,
};
const allowed = (callId: string) =>
  ev('tool.call.allowed', {
    callId,
    tool: 'filesystem.read',
    caller: 'service:agent',
    arguments: args,
    decisions: [decision],
    policyDigest: D,
  });

function fold(events: ProjectedEvent[]) {
  const runner = new ProjectionRunner(callLogProjection);
  for (const e of events) runner.apply(e);
  return runner.document.calls;
}

describe('call log', () => {
  it('given allowed then completed, shows one completed call with its decisions and sizes', () => {
    const calls = fold([
      allowed('c1'),
      ev('tool.call.completed', {
        callId: 'c1',
        tool: 'filesystem.read',
        caller: 'service:agent',
        output: { digest: D, bytes: 10 },
        producedBytes: 12,
        truncated: true,
        redactions: { password: 2, jwt: 1 },
        durationMs: 4,
      }),
    ]);
    expect(calls).toEqual([
      expect.objectContaining({
        callId: 'c1',
        outcome: 'completed',
        decisionIds: ['dec-1'],
        outputBytes: 10,
        truncated: true,
        redactions: 3,
        durationMs: 4,
      }),
    ]);
  });

  it('given a denial, shows where and why it stopped', () => {
    const calls = fold([
      ev('tool.call.denied', {
        callId: 'c2',
        tool: null,
        caller: 'key:laptop',
        stage: 'validation',
        code: 'TOOL_NAME_INVALID',
        reason: 'x',
        ruleId: null,
        decisionId: null,
        inputDigest: null,
        decisions: [],
        arguments: args,
      }),
    ]);
    expect(calls[0]).toMatchObject({
      outcome: 'denied',
      stage: 'validation',
      code: 'TOOL_NAME_INVALID',
      tool: null,
    });
  });

  it('given a failure after the allow, shows it failed with its code', () => {
    const calls = fold([
      allowed('c3'),
      ev('tool.call.failed', {
        callId: 'c3',
        tool: 'filesystem.read',
        caller: 'service:agent',
        code: 'TOOL_FAILED',
        reason: 'x',
        durationMs: 1,
      }),
    ]);
    expect(calls[0]).toMatchObject({ outcome: 'failed', code: 'TOOL_FAILED' });
  });

  it(`keeps the last ${MAX_CALLS} calls only`, () => {
    const calls = fold(Array.from({ length: MAX_CALLS + 5 }, (_, i) => allowed(`k${i}`)));
    expect(calls).toHaveLength(MAX_CALLS);
    expect(calls[0]?.callId).toBe('k5');
  });
});

describe('the firewall view (keys and call log in one fold)', () => {
  it('folds API keys and calls side by side, each as its own projection would', () => {
    const runner = new ProjectionRunner(firewallViewProjection);
    runner.apply(
      ev('inference.key.created', {
        callId: 'x',
        name: 'laptop',
        keyDigest: D,
        hint: 'abcd1234',
        createdBy: 'ada',
      }),
    );
    runner.apply(allowed('c9'));
    expect(Object.keys(runner.document.keys.keys)).toEqual(['laptop']);
    expect(runner.document.log.calls.map((c) => c.callId)).toEqual(['c9']);
  });
});

import { describe, expect, it } from 'vitest';
import {
  PolicyEngine,
  VERDICT_MEMO_ENTRIES,
  evaluate,
  normalizeRequest,
  type PolicySnapshot,
} from '../src/index.js';
import { documents } from './fixtures.js';

// The engine remembers verdicts per snapshot and canonical input (evaluation is pure). What must
// hold: a remembered verdict is exactly what evaluating again gives, a new snapshot is never
// answered from the old one's memory, and nothing an answer's holder does changes a later answer.

function snapshot(overrides: Parameters<typeof documents>[0] = {}, digit = '0'): PolicySnapshot {
  return {
    digest: `sha256:${digit.repeat(64)}`,
    version: 1,
    documents: documents(overrides),
    canonicalDocuments: '{}',
    files: [],
  };
}

const READ = {
  domain: 'tool_access',
  subject: 'filesystem.read',
  params: { path: '/vault/user_docs/a.txt' },
};

describe('the verdict memo', () => {
  it('answers a repeated question exactly as evaluating it again would', () => {
    const s = snapshot();
    const engine = new PolicyEngine();
    engine.install(s);
    const first = engine.decide(READ, 'agent');
    const again = engine.decide(READ, 'agent');
    const fresh = evaluate(normalizeRequest(READ).input, s.documents);
    for (const outcome of [first, again]) {
      expect(outcome.response).toMatchObject({
        decision: fresh.decision,
        reason: fresh.reason,
        evidence: { ruleId: fresh.ruleId, trace: fresh.trace },
      });
      expect(outcome.event.data.input).toBe(first.event.data.input);
    }
  });

  it('never answers a new snapshot from the previous one', () => {
    const engine = new PolicyEngine();
    engine.install(snapshot());
    expect(engine.decide(READ, 'agent').response.decision).toBe('allow');
    const denying = snapshot(
      {
        policy: {
          tools: { default: 'deny', allow: [], deny: [{ name: 'filesystem.read' }] },
        } as never,
      },
      '1',
    );
    engine.install(denying);
    expect(engine.decide(READ, 'agent').response).toMatchObject({
      decision: 'deny',
      evidence: { ruleId: 'tools.deny.filesystem.read', policyDigest: denying.digest },
    });
  });

  it('hands out verdicts no holder can change', () => {
    const engine = new PolicyEngine();
    engine.install(snapshot());
    const { response } = engine.decide(READ, 'agent');
    expect(() => (response.evidence.trace as { why: string }[]).push({ why: 'x' })).toThrow(
      TypeError,
    );
    expect(() => {
      (response.evidence.trace[0] as { why: string }).why = 'forged';
    }).toThrow(TypeError);
    expect(engine.decide(READ, 'agent').response.evidence.trace).toEqual(
      evaluate(normalizeRequest(READ).input, documents()).trace,
    );
  });

  it('stays exact past its bound', () => {
    const engine = new PolicyEngine();
    const s = snapshot();
    engine.install(s);
    for (let i = 0; i <= VERDICT_MEMO_ENTRIES; i++) {
      const request = { domain: 'agent_risk', subject: `action_${i}` };
      engine.decide(request, 'agent');
    }
    for (const subject of ['file_read', 'shell_exec', 'action_0']) {
      const request = { domain: 'agent_risk', subject };
      expect(engine.decide(request, 'agent').response.evidence.ruleId).toBe(
        evaluate(normalizeRequest(request).input, s.documents).ruleId,
      );
    }
  });
});

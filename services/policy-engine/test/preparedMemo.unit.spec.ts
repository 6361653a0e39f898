import { describe, expect, it } from 'vitest';
import { PREPARED_ENTRIES, PolicyEngine, type PolicySnapshot } from '../src/index.js';
import { documents } from './fixtures.js';

// HTTP bodies decided before are not parsed, checked or digested again (`decideText`). What must
// hold: a remembered text decides exactly as parsing it again would (invalid requests stay
// invalid), the caller is each request's own, a reload is honoured, and an unknown text is left
// to the caller to parse.

function snapshot(overrides: Parameters<typeof documents>[0] = {}, digit = '0'): PolicySnapshot {
  return {
    digest: `sha256:${digit.repeat(64)}`,
    version: 1,
    documents: documents(overrides),
    canonicalDocuments: '{}',
    files: [],
  };
}

const READ = JSON.stringify({
  domain: 'tool_access',
  subject: 'filesystem.read',
  params: { path: '/vault/user_docs/a.txt' },
});
const INVALID = JSON.stringify({ domain: 'tool_access', subject: 'x', extra: true });

function engineWith(s = snapshot()): PolicyEngine {
  const engine = new PolicyEngine();
  engine.install(s);
  return engine;
}

/** The outcome without what differs between two decisions of one request (time, duration). */
function stable(outcome: ReturnType<PolicyEngine['decide']>) {
  const { evaluatedAt: _at, durationMicros: _d, ...evidence } = outcome.event.data.evidence;
  return { ...outcome.event.data, evidence };
}

describe('the prepared-request memo', () => {
  it('leaves a text never decided to the caller, then decides it as parsing would', () => {
    const engine = engineWith();
    expect(engine.decideText(READ, 'agent')).toBeNull();
    const parsed = engine.decideParsed(JSON.parse(READ), 'agent', READ);
    const known = engine.decideText(READ, 'agent');
    expect(known).not.toBeNull();
    expect(stable(known!)).toEqual(stable(parsed));
    expect(stable(known!)).toEqual(stable(engineWith().decide(JSON.parse(READ), 'agent')));
    expect(known!.response.decision).toBe('allow');
  });

  it('keeps an invalid request invalid: denied with the same problems', () => {
    const engine = engineWith();
    const first = engine.decideParsed(JSON.parse(INVALID), 'agent', INVALID);
    const again = engine.decideText(INVALID, 'agent');
    expect(first.response.evidence.ruleId).toBe('request.invalid');
    expect(again!.response).toMatchObject({ decision: 'deny', reason: first.response.reason });
    expect(stable(again!)).toEqual(stable(first));
  });

  it('records each request under its own caller', () => {
    const engine = engineWith();
    engine.decideParsed(JSON.parse(READ), 'agent', READ);
    expect(engine.decideText(READ, 'tool-firewall')!.event.data.caller).toBe('tool-firewall');
  });

  it('decides a remembered text under the policy installed now', () => {
    const engine = engineWith();
    engine.decideParsed(JSON.parse(READ), 'agent', READ);
    const denying = snapshot(
      {
        policy: {
          tools: { default: 'deny', allow: [], deny: [{ name: 'filesystem.read' }] },
        } as never,
      },
      '1',
    );
    engine.install(denying);
    expect(engine.decideText(READ, 'agent')!.response).toMatchObject({
      decision: 'deny',
      evidence: { ruleId: 'tools.deny.filesystem.read', policyDigest: denying.digest },
    });
  });

  it('shares no subject a holder could change', () => {
    const engine = engineWith();
    const { event } = engine.decideParsed(JSON.parse(READ), 'agent', READ);
    expect(() => {
      (event.data.subject as { redacted: string }).redacted = 'forged';
    }).toThrow(TypeError);
    expect(engine.decideText(READ, 'agent')!.event.data.subject.redacted).toBe('filesystem.read');
  });

  it('is bounded: past its bound it forgets, and stays exact', () => {
    const engine = engineWith();
    for (let i = 0; i <= PREPARED_ENTRIES; i++) {
      const text = JSON.stringify({ domain: 'agent_risk', subject: `action_${i}` });
      engine.decideParsed(JSON.parse(text), 'agent', text);
    }
    const first = JSON.stringify({ domain: 'agent_risk', subject: 'action_0' });
    expect(engine.decideText(first, 'agent')).toBeNull();
    const long = JSON.stringify({ domain: 'agent_risk', subject: 'a'.repeat(2000) });
    engine.decideParsed(JSON.parse(long), 'agent', long);
    expect(engine.decideText(long, 'agent')).toBeNull();
  });
});

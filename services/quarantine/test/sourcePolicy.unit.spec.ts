import { describe, expect, it } from 'vitest';
import { LOCAL_IMPORT, reasonCodeOf, sourcePolicyRequest, sourceVerdict } from '../src/index.js';

// The source policy is the engine's `model_source` decision (its rules are tested with the
// engine's domains); here only the quarantine's side: the question, and the verdict it reads.
const evidence = {
  domain: 'model_source',
  ruleId: 'source.not_https',
  policyDigest: `sha256:${'e'.repeat(64)}`,
  inputDigest: `sha256:${'d'.repeat(64)}`,
  evaluatedAt: '2026-11-27T04:00:00.000Z',
  durationMicros: 2,
  trace: [],
};

describe('source_policy', () => {
  it('asks the model_source question about the URL as given', () =>
    expect(sourcePolicyRequest('https://huggingface.co/x')).toEqual({
      domain: 'model_source',
      subject: 'https://huggingface.co/x',
    }));
  it('passes a local import without asking', () =>
    expect(LOCAL_IMPORT).toMatchObject({ passed: true, reasonCode: 'local_import' }));
  it('passes on allow only: ask and deny fail, as at every gate', () => {
    const v = (decision: 'allow' | 'deny' | 'ask') =>
      sourceVerdict({ decision, reason: 'r', evidence, eventId: 'ev-1' }).passed;
    expect([v('allow'), v('ask'), v('deny')]).toEqual([true, false, false]);
  });
  it('cites the decision in its facts, with the rule as reason code', () =>
    expect(sourceVerdict({ decision: 'deny', reason: 'r', evidence, eventId: 'ev-1' })).toEqual({
      passed: false,
      reasonCode: 'source.not_https',
      detail: 'r',
      result: {
        decision: 'deny',
        decision_id: 'ev-1',
        rule_id: 'source.not_https',
        engine_policy_digest: evidence.policyDigest,
      },
    }));
  it('cites a decision committed in a group by its address, not by the group event', () =>
    expect(
      sourceVerdict({
        decision: 'allow',
        reason: 'r',
        evidence,
        eventId: 'ev-2',
        decisionId: 'ev-2#3',
      }).result.decision_id,
    ).toBe('ev-2#3'));
  it('keeps reason codes inside the contracts’ token', () => {
    expect(reasonCodeOf('tools.allow.Some Tool')).toBe('tools.allow.some_tool');
    expect(reasonCodeOf('9lives')).toBe('r_9lives');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EnvelopeError,
  decisionAt,
  decisionIdOf,
  decisionsIn,
  isDecisionEventType,
  parseDecisionId,
  signEvent,
  verifyEnvelope,
  type EventData,
} from '../src/index.js';
import { createTestPki } from '../src/testing/index.js';

// The one place that says which decisions an event holds and how each is addressed.

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./__fixtures__/events/${name}.json`, import.meta.url), 'utf8'));
const group = fixture('policy.decisions.recorded') as EventData<'policy.decisions.recorded'>;
const single = fixture('policy.decided') as EventData<'policy.decided'>;
const pki = await createTestPki();
const now = new Date('2026-12-01T10:00:00.000Z');

describe('decisionsIn', () => {
  it('gives a policy.decided as one decision addressed by its event id', () => {
    expect(decisionsIn({ id: 'e1', type: 'policy.decided', data: single })).toEqual([
      { decisionId: 'e1', eventId: 'e1', index: null, data: single },
    ]);
  });

  it('gives each member of a group, in order, addressed <event id>#<index>', () => {
    const records = decisionsIn({ id: 'g1', type: 'policy.decisions.recorded', data: group });
    expect(records.map((r) => [r.decisionId, r.eventId, r.index])).toEqual(
      group.decisions.map((_, i) => [`g1#${i}`, 'g1', i]),
    );
    expect(records.map((r) => r.data)).toEqual(group.decisions);
  });

  it('gives nothing for any other type', () => {
    expect(decisionsIn({ id: 'x', type: 'policy.loaded', data: {} })).toEqual([]);
    expect(isDecisionEventType('policy.loaded')).toBe(false);
    expect(isDecisionEventType('policy.decisions.recorded')).toBe(true);
  });
});

describe('decision addresses', () => {
  it('round-trip through decisionIdOf and parseDecisionId', () => {
    expect(parseDecisionId(decisionIdOf('e1', null))).toEqual({ eventId: 'e1', index: null });
    expect(parseDecisionId(decisionIdOf('e1', 7))).toEqual({ eventId: 'e1', index: 7 });
  });

  it('are refused when they are not addresses', () => {
    for (const bad of ['', '#1', 'e1#', 'e1#-1', 'e1#01', 'e1#1#2', 'e1#x', 'e1#1.5'])
      expect(parseDecisionId(bad), bad).toBeNull();
  });

  it('resolve to the member they name, and only inside the event they name', () => {
    const event = { id: 'g1', type: 'policy.decisions.recorded', data: group };
    expect(decisionAt(event, 'g1#1')?.data).toEqual(group.decisions[1]);
    expect(decisionAt(event, `g1#${group.decisions.length}`)).toBeNull();
    expect(decisionAt(event, 'g1')).toBeNull(); // a group is not one decision
    expect(decisionAt(event, 'g2#0')).toBeNull();
    const alone = { id: 'e1', type: 'policy.decided', data: single };
    expect(decisionAt(alone, 'e1')?.data).toEqual(single);
    expect(decisionAt(alone, 'e1#0')).toBeNull();
  });
});

describe('authority', () => {
  it('refuses a group signed by any service but the policy engine', () => {
    const draft = {
      type: 'policy.decisions.recorded' as const,
      aggregateId: 'tool_access',
      data: group,
    };
    const forged = signEvent(draft, pki.signerFor('tool-firewall'), { now }).bytes;
    const error = (() => {
      try {
        verifyEnvelope(forged, pki.trust);
        return null;
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(EnvelopeError);
    expect((error as EnvelopeError).code).toBe('TYPE_NOT_AUTHORISED');
    const genuine = signEvent(draft, pki.signerFor('policy-engine'), { now }).bytes;
    expect(decisionsIn(verifyEnvelope(genuine, pki.trust).event)).toHaveLength(
      group.decisions.length,
    );
  });
});

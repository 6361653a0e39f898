import { describe, expect, it } from 'vitest';
import { IllegalStateError } from '@secai/contracts';
import { deciderSpec } from '@secai/contracts/testing';
import {
  MAX_ACCEPTED,
  acceptedList,
  decide,
  evolve,
  initialState,
  integrityDecider,
  nextState,
  settle,
  type IntegrityCommand,
  type IntegrityEvent,
  type ScanRules,
} from '../src/decider.js';
import type { Difference } from '../src/records.js';

const spec = deciderSpec(integrityDecider);
const D1 = `sha256:${'11'.repeat(32)}`;
const D2 = `sha256:${'22'.repeat(32)}`;
const D3 = `sha256:${'33'.repeat(32)}`;

const rules: ScanRules = {
  severity: 'critical',
  recoveryThreshold: 3,
  maxReports: 256,
  latch: true,
};

const created: IntegrityEvent = {
  type: 'integrity.baseline.created',
  aggregateId: 'service_binary',
  data: { pathClass: 'service_binary', entryCount: 4, entriesDigest: D1, releaseVerified: false },
};

const modified = (path: string, actual = D3): Difference => ({
  path,
  kind: 'modified',
  expected: D2,
  actual,
});

const reportedEvent = (d: Difference, severity = rules.severity): IntegrityEvent => ({
  type: 'integrity.violation.detected',
  aggregateId: 'service_binary',
  data: { pathClass: 'service_binary', ...d, severity },
});

const changed = (
  from: 'ok' | 'degraded' | 'recovery_required',
  to: 'ok' | 'degraded' | 'recovery_required',
  violationCount: number,
): IntegrityEvent => ({
  type: 'integrity.state.changed',
  aggregateId: 'service_binary',
  data: { pathClass: 'service_binary', from, to, violationCount },
});

const check = (
  differences: Difference[],
  over: Partial<Extract<IntegrityCommand, { type: 'record_check' }>> = {},
): IntegrityCommand => ({
  type: 'record_check',
  pathClass: 'service_binary',
  scope: { kind: 'full' },
  differences,
  rules,
  baselineIntact: true,
  ...over,
});

const rebaseline = (differences: Difference[], entriesDigest = D2): IntegrityCommand => ({
  type: 'rebaseline',
  pathClass: 'service_binary',
  entryCount: 5,
  entriesDigest,
  operator: 'alice',
  reason: 'deployed build 42',
  differences,
});

describe('first boot', () => {
  it('records the baseline once', () => {
    spec
      .given([])
      .when({
        type: 'create_baseline',
        pathClass: 'service_binary',
        entryCount: 4,
        entriesDigest: D1,
        releaseVerified: false,
      })
      .then([created]);
  });

  it('never records a second first baseline', () => {
    spec
      .given([created])
      .when({
        type: 'create_baseline',
        pathClass: 'service_binary',
        entryCount: 4,
        entriesDigest: D1,
        releaseVerified: false,
      })
      .thenThrows(IllegalStateError);
  });
});

describe('When ok', () => {
  it('a clean check records nothing', () => {
    spec.given([created]).when(check([])).thenNothingHappened();
  });

  it('a difference is reported with the class severity and the class degrades', () => {
    const d = modified('/a');
    spec
      .given([created])
      .when(check([d]))
      .then([reportedEvent(d), changed('ok', 'degraded', 1)]);
  });

  it('as many differences as the threshold need recovery at once', () => {
    const ds = [modified('/a'), modified('/b'), modified('/c')];
    spec
      .given([created])
      .when(check(ds))
      .then([...ds.map((d) => reportedEvent(d)), changed('ok', 'recovery_required', 3)]);
  });

  it('records at most maxReports violations per check; the count covers them all', () => {
    const ds = [modified('/a'), modified('/b')];
    spec
      .given([created])
      .when(check(ds, { rules: { ...rules, maxReports: 1 } }))
      .then([reportedEvent(ds[0]!), changed('ok', 'degraded', 2)]);
  });

  it('a stored baseline that does not match its digest needs recovery', () => {
    const d: Difference = { path: '/state/b.json', kind: 'modified', expected: D1, actual: D2 };
    spec
      .given([created])
      .when(check([d], { baselineIntact: false }))
      .then([reportedEvent(d), changed('ok', 'recovery_required', 1)]);
  });
});

describe('long paths', () => {
  it('are shortened to what an event carries, and deduplicated as shortened', () => {
    const d = modified(`/${'x'.repeat(5000)}`);
    const { events } = spec
      .given([created])
      .when(check([d]))
      .then([reportedEvent({ ...d, path: `/${'x'.repeat(4094)}…` }), changed('ok', 'degraded', 1)]);
    spec
      .given([created, ...events])
      .when(check([d]))
      .thenNothingHappened();
    const state = [created, ...events].reduce(evolve, initialState());
    expect(Object.keys(settle(state, { kind: 'full' }, [d]).reported)).toHaveLength(1);
  });
});

describe('When degraded', () => {
  const d = modified('/a');
  const history = [created, reportedEvent(d), changed('ok', 'degraded', 1)];

  it('the same unchanged violation is not reported again', () => {
    spec
      .given(history)
      .when(check([d]))
      .thenNothingHappened();
  });

  it('a new change of the same file is reported again', () => {
    const again = modified('/a', D1);
    spec
      .given(history)
      .when(check([again]))
      .then([reportedEvent(again)]);
  });

  it('another kind on the same path is its own violation', () => {
    const mode: Difference = { path: '/a', kind: 'mode', expected: '0644', actual: '0666' };
    spec
      .given(history)
      .when(check([d, mode]))
      .then([reportedEvent(mode)]);
  });

  it('restored files return the class to ok (degraded is not latched)', () => {
    spec
      .given(history)
      .when(check([]))
      .then([changed('degraded', 'ok', 0)]);
  });

  it('a targeted check outside the violation keeps counting it', () => {
    const other = modified('/b');
    spec
      .given(history)
      .when(check([other], { scope: { kind: 'paths', paths: ['/b'] } }))
      .then([reportedEvent(other)]);
    spec
      .given(history)
      .when(check([], { scope: { kind: 'paths', paths: ['/z'] } }))
      .thenNothingHappened();
  });

  it('a targeted check of the restored path clears it', () => {
    spec
      .given(history)
      .when(check([], { scope: { kind: 'paths', paths: ['/a'] } }))
      .then([changed('degraded', 'ok', 0)]);
  });
});

describe('When recovery is required', () => {
  const ds = [modified('/a'), modified('/b'), modified('/c')];
  const history = [
    created,
    ...ds.map((d) => reportedEvent(d)),
    changed('ok', 'recovery_required', 3),
  ];

  it('stays there when the files are restored (latched for baselined classes)', () => {
    spec.given(history).when(check([])).thenNothingHappened();
  });

  it('follows the count when not latched (the model store follows the registry)', () => {
    spec
      .given(history)
      .when(check([], { rules: { ...rules, latch: false } }))
      .then([changed('recovery_required', 'ok', 0)]);
  });

  it('a rebaseline accepts the differences and returns the class to ok', () => {
    spec
      .given(history)
      .when(rebaseline(ds))
      .then([
        {
          type: 'integrity.rebaselined',
          aggregateId: 'service_binary',
          data: {
            pathClass: 'service_binary',
            entryCount: 5,
            entriesDigest: D2,
            previousEntriesDigest: D1,
            operator: 'alice',
            reason: 'deployed build 42',
            acceptedCount: 3,
            accepted: ds,
          },
        },
        changed('recovery_required', 'ok', 0),
      ]);
  });
});

describe('rebaseline', () => {
  it('with nothing to accept and the class ok, records nothing (not a refusal)', () => {
    spec
      .given([created])
      .when(rebaseline([], D1))
      .thenDecides({ events: [], outcome: 'nothing_to_accept' });
  });

  it('records a digest-only change (no named difference) all the same', () => {
    spec
      .given([created])
      .when(rebaseline([]))
      .then([
        {
          type: 'integrity.rebaselined',
          aggregateId: 'service_binary',
          data: {
            pathClass: 'service_binary',
            entryCount: 5,
            entriesDigest: D2,
            previousEntriesDigest: D1,
            operator: 'alice',
            reason: 'deployed build 42',
            acceptedCount: 0,
            accepted: [],
          },
        },
      ]);
  });

  it('needs a baseline to replace', () => {
    spec.given([]).when(rebaseline([])).thenThrows(IllegalStateError);
  });

  it('names the first differences that fit one event', () => {
    const many = Array.from({ length: MAX_ACCEPTED + 10 }, (_, i) => modified(`/f${i}`));
    expect(acceptedList(many)).toHaveLength(MAX_ACCEPTED);
    const long = Array.from({ length: 200 }, (_, i) => modified(`/${'x'.repeat(4000)}${i}`));
    const fit = acceptedList(long);
    expect(fit.length).toBeLessThan(200);
    expect(JSON.stringify(fit).length).toBeLessThanOrEqual(384 * 1024);
  });

  it('after a rebaseline, the same difference is not remembered as reported', () => {
    const d = modified('/a');
    const state = [created, reportedEvent(d), changed('ok', 'degraded', 1)].reduce(
      evolve,
      initialState(),
    );
    const after = decide(rebaseline([d]), state).events.reduce(evolve, state);
    expect(after.reported).toEqual({});
    expect(after.state).toBe('ok');
    expect(after.baseline).toEqual({ entriesDigest: D2, entryCount: 5 });
  });
});

describe('settle', () => {
  const a = modified('/a');
  const b = modified('/b');
  const state = [created, reportedEvent(a), reportedEvent(b), changed('ok', 'degraded', 2)].reduce(
    evolve,
    initialState(),
  );

  it('forgets reported violations the check no longer found, within its scope only', () => {
    const full = settle(state, { kind: 'full' }, [b]);
    expect(Object.values(full.reported)).toEqual([b]);
    const targeted = settle(state, { kind: 'paths', paths: ['/a'] }, []);
    expect(Object.values(targeted.reported)).toEqual([b]);
    const elsewhere = settle(state, { kind: 'paths', paths: ['/z'] }, []);
    expect(Object.values(elsewhere.reported)).toEqual([a, b]);
  });

  it('a recurrence after a settle is reported again', () => {
    const settled = settle(state, { kind: 'full' }, [b]);
    expect(decide(check([a, b]), settled)).toEqual({ events: [reportedEvent(a)] });
  });
});

describe('nextState', () => {
  it('counts, latches and refuses a broken baseline', () => {
    const r = { recoveryThreshold: 2, latch: true };
    expect(nextState('ok', 0, r)).toBe('ok');
    expect(nextState('ok', 1, r)).toBe('degraded');
    expect(nextState('degraded', 2, r)).toBe('recovery_required');
    expect(nextState('recovery_required', 0, r)).toBe('recovery_required');
    expect(nextState('recovery_required', 0, { ...r, latch: false })).toBe('ok');
    expect(nextState('ok', 0, r, false)).toBe('recovery_required');
  });
});

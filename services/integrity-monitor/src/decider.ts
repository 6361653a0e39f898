import {
  IllegalStateError,
  decided,
  type Decider,
  type Decision,
  type EventData,
} from '@secai/contracts';
import {
  bounded,
  differenceKey,
  isWithin,
  type Difference,
  type IntegrityStateName,
  type PathClassName,
  type SeverityName,
} from './records.js';

// The integrity rules as pure functions (ARCHITECTURE §4). One aggregate per path class
// (`integrity/<pathClass>`); its state is a fold over its events. A command carries what the edge
// observed (the differences between disk and baseline, or registry); the decision is the events to
// record (the contracts `Decision`: nothing here is refused, a broken invariant throws). No I/O,
// no clock.

export type IntegrityEventType =
  | 'integrity.baseline.created'
  | 'integrity.rebaselined'
  | 'integrity.violation.detected'
  | 'integrity.state.changed';

export type IntegrityEvent = {
  [T in IntegrityEventType]: { type: T; aggregateId: PathClassName; data: EventData<T> };
}[IntegrityEventType];

export const INTEGRITY_EVENT_TYPES: readonly IntegrityEventType[] = [
  'integrity.baseline.created',
  'integrity.rebaselined',
  'integrity.violation.detected',
  'integrity.state.changed',
];

export function isIntegrityEventType(type: string): type is IntegrityEventType {
  return (INTEGRITY_EVENT_TYPES as readonly string[]).includes(type);
}

export interface ClassState {
  /** The trusted baseline (from the last `baseline.created` / `rebaselined`); null before one. */
  baseline: { entriesDigest: string; entryCount: number } | null;
  state: IntegrityStateName;
  /**
   * Violations reported and still believed to hold, by `kind\0path`, as last reported: the same
   * difference is not reported again while it stays unchanged. Events add to it; a rebaseline
   * and a return to `ok` clear it; the edge drops the ones a later check no longer finds
   * (`settle`), so a recurrence is reported again.
   */
  reported: Record<string, Difference>;
}

export function initialState(): ClassState {
  return { baseline: null, state: 'ok', reported: {} };
}

/** What a check looked at: everything of the class, or the subtrees of some paths. */
export type Scope = { kind: 'full' } | { kind: 'paths'; paths: readonly string[] };

export interface ScanRules {
  severity: SeverityName;
  /** Open violations at which the class needs recovery. */
  recoveryThreshold: number;
  /** New violations recorded per check at most; the rest follow in later checks. */
  maxReports: number;
  /** `recovery_required` holds until an operator rebaselines (baselined classes). */
  latch: boolean;
}

export type IntegrityCommand =
  | {
      type: 'create_baseline';
      pathClass: PathClassName;
      entryCount: number;
      entriesDigest: string;
      releaseVerified: boolean;
    }
  | {
      type: 'record_check';
      pathClass: PathClassName;
      scope: Scope;
      /** Every difference found within the scope, sorted. */
      differences: readonly Difference[];
      rules: ScanRules;
      /** False when the stored baseline no longer matches its signed digest. */
      baselineIntact: boolean;
    }
  | {
      type: 'rebaseline';
      pathClass: PathClassName;
      entryCount: number;
      entriesDigest: string;
      operator: string;
      reason: string;
      /** Every difference between the old baseline and what is accepted now. */
      differences: readonly Difference[];
    };

/** Accepted differences an `integrity.rebaselined` event names at most. */
export const MAX_ACCEPTED = 256;
/** JSON characters the accepted list may take (paths can be 4096 long; envelopes hold 1 MiB). */
export const MAX_ACCEPTED_CHARS = 384 * 1024;

function sameReport(a: Difference | undefined, b: Difference): boolean {
  return a !== undefined && a.expected === b.expected && a.actual === b.actual;
}

export function inScope(scope: Scope, path: string): boolean {
  return scope.kind === 'full' || scope.paths.some((s) => isWithin(path, s));
}

/** The state a class is in with `count` open violations. */
export function nextState(
  current: IntegrityStateName,
  count: number,
  rules: Pick<ScanRules, 'recoveryThreshold' | 'latch'>,
  baselineIntact = true,
): IntegrityStateName {
  if (!baselineIntact) return 'recovery_required';
  if (rules.latch && current === 'recovery_required') return 'recovery_required';
  if (count >= rules.recoveryThreshold) return 'recovery_required';
  return count > 0 ? 'degraded' : 'ok';
}

/** Open violations after a check: the ones found now, plus reported ones outside its scope. */
export function openCount(state: ClassState, scope: Scope, differences: readonly Difference[]) {
  const carried = Object.values(state.reported).filter((d) => !inScope(scope, d.path)).length;
  return differences.filter((d) => inScope(scope, d.path)).length + carried;
}

/** The first accepted differences that fit one event. */
export function acceptedList(differences: readonly Difference[]): Difference[] {
  const out: Difference[] = [];
  let chars = 0;
  for (const d of differences) {
    const size = JSON.stringify(d).length + 1;
    if (out.length >= MAX_ACCEPTED || chars + size > MAX_ACCEPTED_CHARS) break;
    const b = bounded(d);
    out.push({ path: b.path, kind: b.kind, expected: b.expected, actual: b.actual });
    chars += size;
  }
  return out;
}

export type IntegrityDecision = Decision<IntegrityEvent>;

function decideCheck(
  c: Extract<IntegrityCommand, { type: 'record_check' }>,
  state: ClassState,
): IntegrityDecision {
  const found = c.differences.map(bounded).filter((d) => inScope(c.scope, d.path));
  const fresh = found
    .filter((d) => !sameReport(state.reported[differenceKey(d)], d))
    .slice(0, Math.max(0, c.rules.maxReports));
  const events: IntegrityEvent[] = fresh.map((d) => ({
    type: 'integrity.violation.detected',
    aggregateId: c.pathClass,
    data: {
      pathClass: c.pathClass,
      path: d.path,
      kind: d.kind,
      expected: d.expected,
      actual: d.actual,
      severity: c.rules.severity,
    },
  }));
  const count = openCount(state, c.scope, found);
  const to = nextState(state.state, count, c.rules, c.baselineIntact);
  if (to !== state.state)
    events.push({
      type: 'integrity.state.changed',
      aggregateId: c.pathClass,
      data: { pathClass: c.pathClass, from: state.state, to, violationCount: count },
    });
  return decided(events);
}

function decideRebaseline(
  c: Extract<IntegrityCommand, { type: 'rebaseline' }>,
  state: ClassState,
): IntegrityDecision {
  if (!state.baseline)
    throw new IllegalStateError(`integrity/${c.pathClass} has no baseline to replace`);
  if (
    c.differences.length === 0 &&
    state.state === 'ok' &&
    c.entriesDigest === state.baseline.entriesDigest
  )
    // Not a refusal: the ceremony answers `nothing_to_accept` only when no class changed.
    return decided([], { outcome: 'nothing_to_accept' });
  const events: IntegrityEvent[] = [
    {
      type: 'integrity.rebaselined',
      aggregateId: c.pathClass,
      data: {
        pathClass: c.pathClass,
        entryCount: c.entryCount,
        entriesDigest: c.entriesDigest,
        previousEntriesDigest: state.baseline.entriesDigest,
        operator: c.operator,
        reason: c.reason,
        acceptedCount: c.differences.length,
        accepted: acceptedList(c.differences),
      },
    },
  ];
  if (state.state !== 'ok')
    events.push({
      type: 'integrity.state.changed',
      aggregateId: c.pathClass,
      data: { pathClass: c.pathClass, from: state.state, to: 'ok', violationCount: 0 },
    });
  return decided(events, { outcome: 'rebaselined' });
}

export function decide(command: IntegrityCommand, state: ClassState): IntegrityDecision {
  switch (command.type) {
    case 'create_baseline':
      // The edge creates a baseline only on first boot: a second one is a broken invariant.
      if (state.baseline)
        throw new IllegalStateError(`integrity/${command.pathClass} already has a baseline`);
      return decided([
        {
          type: 'integrity.baseline.created',
          aggregateId: command.pathClass,
          data: {
            pathClass: command.pathClass,
            entryCount: command.entryCount,
            entriesDigest: command.entriesDigest,
            releaseVerified: command.releaseVerified,
          },
        },
      ]);
    case 'record_check':
      return decideCheck(command, state);
    case 'rebaseline':
      return decideRebaseline(command, state);
  }
}

export function evolve(state: ClassState, event: IntegrityEvent): ClassState {
  switch (event.type) {
    case 'integrity.baseline.created':
      return {
        ...state,
        baseline: { entriesDigest: event.data.entriesDigest, entryCount: event.data.entryCount },
      };
    case 'integrity.rebaselined':
      return {
        ...state,
        baseline: { entriesDigest: event.data.entriesDigest, entryCount: event.data.entryCount },
        reported: {},
      };
    case 'integrity.violation.detected': {
      const d: Difference = {
        path: event.data.path,
        kind: event.data.kind,
        expected: event.data.expected,
        actual: event.data.actual,
      };
      return { ...state, reported: { ...state.reported, [differenceKey(d)]: d } };
    }
    case 'integrity.state.changed':
      return {
        ...state,
        state: event.data.to,
        reported: event.data.to === 'ok' ? {} : state.reported,
      };
  }
}

/**
 * After a check: forgets the reported violations within its scope that it no longer found (the
 * file was restored), so that the same change happening again is reported again.
 */
export function settle(
  state: ClassState,
  scope: Scope,
  differences: readonly Difference[],
): ClassState {
  const found = new Set(differences.map((d) => differenceKey(bounded(d))));
  const reported: Record<string, Difference> = {};
  for (const [key, d] of Object.entries(state.reported))
    if (!inScope(scope, d.path) || found.has(key)) reported[key] = d;
  return { ...state, reported };
}

/** The integrity decider, as `CommandHandler` and `deciderSpec` take it. */
export const integrityDecider: Decider<IntegrityCommand, IntegrityEvent, ClassState> = {
  decide,
  evolve,
  initialState,
};

import type { EventData } from './catalogue.js';
import { dataOf, own, type Seen } from './types.js';

// Integrity per path class: the monitor's state (ok / degraded / recovery_required), its
// baseline and the violations it found since.

export type PathClassName = EventData<'integrity.state.changed'>['pathClass'];
export type IntegrityStateName = EventData<'integrity.state.changed'>['to'] | 'unknown';

export const PATH_CLASSES: readonly PathClassName[] = [
  'service_binary',
  'policy_file',
  'systemd_unit',
  'trust_material',
  'model_file',
];

export interface Violation {
  path: string;
  kind: string;
  severity: string;
  expected: string | null;
  actual: string | null;
  seq: number;
  time: string;
}

export interface PathClassIntegrity {
  pathClass: PathClassName;
  state: IntegrityStateName;
  violationCount: number;
  baselineEntries: number | null;
  releaseVerified: boolean | null;
  /** The newest violations (at most MAX_VIOLATIONS), newest last. */
  violations: Violation[];
  lastTime: string | null;
}

export type IntegrityView = Readonly<Record<string, PathClassIntegrity>>;

const MAX_VIOLATIONS = 50;

export function initialIntegrity(): IntegrityView {
  return Object.fromEntries(PATH_CLASSES.map((c) => [c, blank(c)]));
}

function blank(pathClass: PathClassName): PathClassIntegrity {
  return {
    pathClass,
    state: 'unknown',
    violationCount: 0,
    baselineEntries: null,
    releaseVerified: null,
    violations: [],
    lastTime: null,
  };
}

export function foldIntegrity(view: IntegrityView, e: Seen): IntegrityView {
  if (!e.event.type.startsWith('integrity.')) return view;
  const created = dataOf(e, 'integrity.baseline.created');
  const rebaselined = dataOf(e, 'integrity.rebaselined');
  const violation = dataOf(e, 'integrity.violation.detected');
  const changed = dataOf(e, 'integrity.state.changed');
  const pathClass = (created ?? rebaselined ?? violation ?? changed)?.pathClass;
  if (pathClass === undefined) return view;
  const entry: PathClassIntegrity = {
    ...(own(view, pathClass) ?? blank(pathClass)),
    lastTime: e.event.time,
  };
  if (created) {
    entry.baselineEntries = created.entryCount;
    entry.releaseVerified = created.releaseVerified;
    if (entry.state === 'unknown') entry.state = 'ok';
  } else if (rebaselined) {
    entry.baselineEntries = rebaselined.entryCount;
  } else if (violation) {
    const seen: Violation = {
      path: violation.path,
      kind: violation.kind,
      severity: violation.severity,
      expected: violation.expected,
      actual: violation.actual,
      seq: e.seq,
      time: e.event.time,
    };
    entry.violations = [...entry.violations, seen].slice(-MAX_VIOLATIONS);
  } else if (changed) {
    entry.state = changed.to;
    entry.violationCount = changed.violationCount;
  }
  return { ...view, [pathClass]: entry };
}

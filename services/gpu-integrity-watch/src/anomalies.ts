import {
  GPU_PROBES,
  type EventData,
  type GpuProbeName,
  type ProbeResultData,
} from '@secai/contracts';
import { TOKENS_DIFFER_FINDINGS } from './probes/sentinel.js';
import { FILE_CHANGED_FINDINGS } from './probes/tensorHash.js';
import { modelOfFinding, shortDigest, type Finding } from './probes/types.js';
import type { GpuVerdictName } from './scoring.js';

// What a cycle that ended in warning or critical says, as anomalies the incident recorder can
// classify: one per kind and model (a sentinel drift of model A and a changed file of model B are
// two incidents on two subjects; the reference sent one report per cycle, its last matching
// probe winning). Pure: the anomalies are a function of the stored probe results, so the
// dedupe state is rebuilt from the stream like everything else.

export type AnomalyKind = EventData<'gpu.anomaly.detected'>['kind'];
export type AnomalySeverity = EventData<'gpu.anomaly.detected'>['severity'];

export interface Anomaly {
  kind: AnomalyKind;
  /** The model it is about (`sha256:<hex>`), null for the host's hardware and driver. */
  model: string | null;
  /** The probes that found it, in probe order. */
  failedProbes: GpuProbeName[];
  severity: AnomalySeverity;
  summary: string;
}

/** Severity when a probe failed outright (a drift is `medium` whatever the kind). */
const FAIL_SEVERITY: Record<AnomalyKind, AnomalySeverity> = {
  model_drift: 'high',
  model_file_changed: 'critical',
  hardware_fault: 'critical',
  driver_changed: 'critical',
  device_unexpected: 'high',
};

interface Group {
  kind: AnomalyKind;
  model: string | null;
  probes: Set<GpuProbeName>;
  failed: boolean;
  notes: string[];
}

const note = (p: ProbeResultData, f: Finding) =>
  `${p.probe} ${p.status}: ${f.description}${f.detail ? ` (${f.detail.replace(/^sha256:[0-9a-f]{64} /, '')})` : ''}`;

function clip(text: string, max = 1024): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The anomalies of one cycle: none when it is healthy. Per probe that drifted or failed:
 * tensor_hash ⇒ `model_file_changed` for each model whose file changed; sentinel_inference and
 * reference_drift ⇒ `model_drift` for each model that answered differently; ecc_status ⇒
 * `hardware_fault`; driver_fingerprint ⇒ `driver_changed`; device_allowlist ⇒
 * `device_unexpected` when it failed (a node nobody allowed), `hardware_fault` when it drifted
 * (a baseline node is gone). Probes in `error` make none: they could not look, which the verdict
 * and the attest state show, and there is nothing to contain.
 */
export function anomaliesOf(
  probes: readonly ProbeResultData[],
  verdict: GpuVerdictName,
): Anomaly[] {
  if (verdict === 'healthy') return [];
  const groups = new Map<string, Group>();
  const add = (
    kind: AnomalyKind,
    model: string | null,
    p: ProbeResultData,
    failed: boolean,
    text: string,
  ) => {
    const key = `${kind}|${model ?? ''}`;
    const g = groups.get(key) ?? { kind, model, probes: new Set(), failed: false, notes: [] };
    g.probes.add(p.probe);
    g.failed ||= failed;
    g.notes.push(text);
    groups.set(key, g);
  };
  for (const p of probes) {
    if (p.status !== 'drift' && p.status !== 'fail') continue;
    const perModel = (kind: AnomalyKind, descriptions: readonly string[]) => {
      for (const f of p.findings) {
        const model = modelOfFinding(f);
        if (model !== null && f.severity !== 'info' && descriptions.includes(f.description))
          add(kind, model, p, f.severity === 'critical', note(p, f));
      }
    };
    const first = p.findings.find((f) => f.severity !== 'info') ?? p.findings[0];
    const hostNote = first ? note(p, first) : `${p.probe} ${p.status}`;
    switch (p.probe) {
      case 'tensor_hash':
        perModel('model_file_changed', FILE_CHANGED_FINDINGS);
        break;
      case 'sentinel_inference':
      case 'reference_drift':
        perModel('model_drift', TOKENS_DIFFER_FINDINGS);
        break;
      case 'ecc_status':
        add('hardware_fault', null, p, p.status === 'fail', hostNote);
        break;
      case 'driver_fingerprint':
        add('driver_changed', null, p, p.status === 'fail', hostNote);
        break;
      case 'device_allowlist':
        add(
          p.status === 'fail' ? 'device_unexpected' : 'hardware_fault',
          null,
          p,
          p.status === 'fail',
          hostNote,
        );
        break;
    }
  }
  return [...groups.values()]
    .map((g) => ({
      kind: g.kind,
      model: g.model,
      failedProbes: GPU_PROBES.filter((p) => g.probes.has(p)),
      severity: g.failed ? FAIL_SEVERITY[g.kind] : 'medium',
      summary: clip(
        `${g.model ? `${shortDigest(g.model)}: ` : ''}${[...new Set(g.notes)].join('; ')}`,
      ),
    }))
    .sort((a, b) => (anomalyKey(a) < anomalyKey(b) ? -1 : 1));
}

/**
 * What makes two reports the same anomaly: kind, model, the probes that found it and its
 * severity (a drift that became a failure is reported again). Not the verdict or the composite:
 * an unrelated probe moving them is not news about this anomaly.
 */
export function anomalyKey(
  a: Pick<Anomaly, 'kind' | 'model' | 'failedProbes' | 'severity'>,
): string {
  return `${a.kind}|${a.model ?? '-'}|${[...a.failedProbes].sort().join(',')}|${a.severity}`;
}

import type { EventData } from './catalogue.js';
import { latestRunOf, type QuarantineView, type StageRow } from './quarantine.js';
import { aggregateOf, dataOf, own, type Seen } from './types.js';

// The registry as the events tell it (aggregate `model/<sha256 hex>`): stored, verified, contained
// or removed; with what inference did with it and, joined from the quarantine run it was promoted
// from, its pin, provenance and stage results.

export type ModelStatus = 'stored' | 'verified' | 'verification_failed' | 'contained' | 'removed';

export interface ModelEntry {
  id: string;
  name: string | null;
  format: string | null;
  sizeBytes: number | null;
  digest: string;
  storePath: string | null;
  fromArtifact: string | null;
  status: ModelStatus;
  lastVerification: { ok: boolean; trigger: string; problem?: string; time: string } | null;
  removal: { kind: 'contained' | 'removed'; reason: string; by: string; time: string } | null;
  loaded: boolean;
  anomalies: number;
  updatedAt: string;
}

export type ModelsView = Readonly<Record<string, ModelEntry>>;

export const initialModels = (): ModelsView => ({});

export function foldModels(view: ModelsView, e: Seen): ModelsView {
  const { type } = e.event;
  const aggregate = aggregateOf(e.event.subject);
  if (aggregate.type === 'inference-model') return foldLoaded(view, e, aggregate.id);
  if (aggregate.type !== 'model') return view;
  const id = aggregate.id;
  const entry: ModelEntry = {
    ...(own(view, id) ?? blank(id, e.event.time)),
    updatedAt: e.event.time,
  };
  const stored = dataOf(e, 'model.stored');
  const verified = dataOf(e, 'model.verified');
  const failed = dataOf(e, 'model.verification.failed');
  const contained = dataOf(e, 'model.contained');
  const removed = dataOf(e, 'model.removed');
  if (stored) {
    Object.assign(entry, {
      name: stored.name,
      format: stored.format,
      sizeBytes: stored.sizeBytes,
      digest: stored.digest,
      storePath: stored.storePath,
      fromArtifact: stored.fromArtifact,
      status: 'stored',
      removal: null,
    });
  } else if (verified) {
    entry.lastVerification = { ok: true, trigger: verified.trigger, time: e.event.time };
    if (entry.status === 'stored' || entry.status === 'verification_failed')
      entry.status = 'verified';
  } else if (failed) {
    entry.lastVerification = {
      ok: false,
      trigger: failed.trigger,
      problem: failed.problem,
      time: e.event.time,
    };
    if (entry.status !== 'contained' && entry.status !== 'removed')
      entry.status = 'verification_failed';
  } else if (contained || removed) {
    const d = (contained ?? removed)!;
    entry.name ??= d.name;
    entry.status = contained ? 'contained' : 'removed';
    entry.removal = {
      kind: contained ? 'contained' : 'removed',
      reason: d.reason,
      by: causeText(d.cause),
      time: e.event.time,
    };
  } else if (type === 'model.behavior.anomaly') {
    entry.anomalies += 1;
  } else {
    return view;
  }
  return { ...view, [id]: entry };
}

function foldLoaded(view: ModelsView, e: Seen, id: string): ModelsView {
  const loaded = dataOf(e, 'inference.model.loaded');
  const unloaded = dataOf(e, 'inference.model.unloaded');
  if (!loaded && !unloaded) return view;
  const entry = own(view, id) ?? blank(id, e.event.time);
  return { ...view, [id]: { ...entry, loaded: loaded !== null, updatedAt: e.event.time } };
}

function causeText(cause: EventData<'model.contained'>['cause']): string {
  return cause.kind === 'incident' ? `incident ${cause.incidentId}` : `operator ${cause.operator}`;
}

function blank(id: string, time: string): ModelEntry {
  return {
    id,
    name: null,
    format: null,
    sizeBytes: null,
    digest: `sha256:${id}`,
    storePath: null,
    fromArtifact: null,
    status: 'stored',
    lastVerification: null,
    removal: null,
    loaded: false,
    anomalies: 0,
    updatedAt: time,
  };
}

export interface ModelRow extends ModelEntry {
  pin: string | null;
  provenance: string | null;
  signer: string | null;
  stages: StageRow[];
}

/** Registry rows (available first, then by name) joined with their quarantine evidence. */
export function modelRows(models: ModelsView, quarantine: QuarantineView): ModelRow[] {
  const rank = (s: ModelStatus) => (s === 'removed' ? 2 : s === 'contained' ? 1 : 0);
  return Object.values(models)
    .map((m) => {
      const run = m.fromArtifact === null ? null : latestRunOf(quarantine, m.fromArtifact);
      return {
        ...m,
        pin: run?.completed?.pin ?? null,
        provenance: run?.completed?.provenance ?? null,
        signer: run?.completed?.signer ?? null,
        stages: run?.stages ?? [],
      };
    })
    .sort(
      (a, b) => rank(a.status) - rank(b.status) || (a.name ?? a.id).localeCompare(b.name ?? b.id),
    );
}

/** Models that can serve: stored or verified, not contained or removed. */
export function availableCount(models: ModelsView): number {
  return Object.values(models).filter((m) => m.status === 'stored' || m.status === 'verified')
    .length;
}

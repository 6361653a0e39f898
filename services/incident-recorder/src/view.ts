import type { TrustBundle, TrustStore } from '@secai/contracts';
import type { IncidentRecord } from './book.js';
import { ceremonyOf, reattestRequired } from './decider.js';
import type { IncidentView } from './api.js';
import { stateOf } from './machine.js';
import type { IncidentPolicy } from './policy/schema.js';

// The view's shape is part of the HTTP contract (`api.ts`), where its schema lives.
export type { IncidentView };

export function incidentView(
  id: string,
  record: IncidentRecord,
  policy: IncidentPolicy,
): IncidentView {
  const ctx = record.snapshot.context;
  const rule = policy.classes[ctx.class!];
  const ceremony = ctx.resolution?.ceremony ?? ceremonyOf(ctx, rule, null);
  return {
    id,
    state: stateOf(record.snapshot),
    class: ctx.class ?? '',
    severity: ctx.severity ?? '',
    subject: ctx.subject,
    reportedBy: ctx.reportedBy,
    description: ctx.description,
    openedAt: ctx.openedAt,
    observationCount: ctx.observationCount,
    causeEventIds: ctx.causeEventIds.slice(-32),
    escalations: ctx.escalations.map((e) => ({ ...e })),
    containment: {
      requested: ctx.requested !== null,
      requestedAt: ctx.requestedAt,
      actions: (ctx.requested ?? []).map((a) => {
        const r = ctx.results.find((x) => x.action === a.action && x.target === a.target);
        return {
          action: a.action,
          target: a.target,
          status: r ? (r.ok ? 'succeeded' : 'failed') : 'pending',
          detail: r?.detail ?? null,
          durationMs: r?.durationMs ?? null,
          completedAt: r?.at ?? null,
        };
      }),
      concludedAt: ctx.concludedAt,
    },
    ceremony: {
      binding: ceremony.binding,
      reattestRequired: ctx.resolution ? ceremony.reattestRequired : reattestRequired(ctx, rule),
      requiredAfterSeq: ctx.requiredAfterSeq,
      attestationEventId: ceremony.attestationEventId,
    },
    resolved: ctx.resolution
      ? { operator: ctx.resolution.operator, note: ctx.resolution.note, at: ctx.resolution.at }
      : null,
    acknowledged: ctx.acknowledgement
      ? {
          operator: ctx.acknowledgement.operator,
          note: ctx.acknowledgement.note,
          at: ctx.acknowledgement.at,
        }
      : null,
    lastSeq: record.lastSequence,
    anomalies: record.anomalies,
  };
}

const RANK: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1 };

/** Severity first (critical on top), then the newest first (the reference's order). */
export function byPriority(a: IncidentView, b: IncidentView): number {
  return (
    (RANK[b.severity] ?? 0) - (RANK[a.severity] ?? 0) ||
    (a.openedAt < b.openedAt ? 1 : a.openedAt > b.openedAt ? -1 : a.id < b.id ? -1 : 1)
  );
}

/** The trust bundle behind a trust store (a `TrustCache` or a `MemoryTrustStore`). */
export function trustBundleOf(trust: TrustStore): TrustBundle {
  const bundle = (trust as { bundle?: TrustBundle }).bundle;
  if (!bundle) throw new Error('the trust store has no bundle to export');
  return bundle;
}

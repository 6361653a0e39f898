import { describe, expect, it } from 'vitest';
import type { EventData, QuarantineStageName } from '@secai/contracts';
import { deciderSpec } from '@secai/contracts/testing';
import {
  planFor,
  registryViewOf,
  runDecider,
  type ArtifactEvent,
  type ArtifactEventType,
} from '../src/index.js';

// Issue 11 §3: promoted bytes that the registry removed may be imported again; bytes the
// registry still holds (or never stored) stay `already_promoted`. The decider decides on what the
// edge read of the registry's `model/<hex>` events (`registryViewOf`).
const spec = deciderSpec(runDecider);
const HEX = 'cd'.repeat(32);
const BUNDLE = `sha256:${'c'.repeat(64)}`;

let n = 0;
function stored<T extends ArtifactEventType>(type: T, data: EventData<T>): ArtifactEvent {
  n++;
  return {
    type,
    data,
    meta: { id: `id-${n}`, time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() },
  } as ArtifactEvent;
}
const isolation = {
  sandbox: 'namespaces',
  network: 'none' as const,
  credentialless: true,
  readOnlyArtifact: true,
  timeoutMs: 1000,
  outputLimitBytes: 1024,
  exitCode: 0,
  signal: null,
  reapedDescendants: 0,
};
const acquiredData: EventData<'model.acquired'> = {
  kind: 'file',
  name: 'w.safetensors',
  sizeBytes: 10,
  digest: `sha256:${HEX}`,
  source: { via: 'import' },
};

/** A whole safetensors run up to `model.promoted`; returns the history and the promotion's id. */
function promotedRun(): { history: ArtifactEvent[]; promotedId: string } {
  const plan = planFor('file', false);
  const history: ArtifactEvent[] = [
    stored('model.acquired', acquiredData),
    stored('quarantine.started', { attempt: 1, policyDigest: BUNDLE, plannedStages: plan }),
    ...plan.map((stage: QuarantineStageName) =>
      stored('quarantine.stage.passed', {
        stage,
        reasonCode: 'ok',
        result: stage === 'format_gate' ? { format: 'safetensors' } : {},
        durationMs: 1,
        isolation,
      }),
    ),
  ];
  const completed = stored('quarantine.completed', {
    passed: true,
    reasonCode: 'all_stages_passed',
    format: 'safetensors',
    sizeBytes: 10,
    signer: null,
    failedStage: null,
    stages: [],
    behavioralScore: null,
    provenance: 'none',
    pin: 'first_use',
    policyDigest: BUNDLE,
    durationMs: 1,
  });
  const promoted = stored('model.promoted', {
    decisionId: 'decision-1',
    name: 'w',
    fileName: 'w.safetensors',
    format: 'safetensors',
    digest: `sha256:${HEX}`,
    sizeBytes: 10,
    policyDigest: BUNDLE,
  });
  return { history: [...history, completed, promoted], promotedId: promoted.meta.id! };
}

describe('importing promoted bytes again', () => {
  it('is refused while the registry never removed what the promotion stored', () => {
    const { history, promotedId } = promotedRun();
    const stillStored = registryViewOf([{ type: 'model.stored', causationId: promotedId }]);
    spec
      .given(history)
      .when({ type: 'Acquire', data: acquiredData, registry: stillStored })
      .thenRefuses('already_promoted', []);
    spec
      .given(history)
      .when({ type: 'Acquire', data: acquiredData })
      .thenRefuses('already_promoted', []);
  });

  it('starts a new run once the registry removed the model this promotion stored', () => {
    const { history, promotedId } = promotedRun();
    const registry = registryViewOf([
      { type: 'model.stored', causationId: promotedId },
      { type: 'model.verified', causationId: 'req-1' },
      { type: 'model.removed', causationId: 'req-2' },
    ]);
    expect(registry.removedPromotions).toEqual([promotedId]);
    spec
      .given(history)
      .when({ type: 'Acquire', data: acquiredData, registry })
      .then([{ type: 'model.acquired', data: acquiredData, meta: {} }]);
  });

  it('a removal of an earlier promotion does not free a later one', () => {
    const { history, promotedId } = promotedRun();
    const registry = registryViewOf([
      { type: 'model.stored', causationId: 'older-promotion' },
      { type: 'model.removed', causationId: 'req-1' },
    ]);
    expect(registry.removedPromotions).not.toContain(promotedId);
    spec
      .given(history)
      .when({ type: 'Acquire', data: acquiredData, registry })
      .thenRefuses('already_promoted', []);
  });

  it('a contained then removed model counts as removed (the operator deleted it)', () => {
    expect(
      registryViewOf([
        { type: 'model.stored', causationId: 'p1' },
        { type: 'model.contained', causationId: 'incident' },
        { type: 'model.removed', causationId: 'req' },
        { type: 'model.stored', causationId: 'p2' },
      ]).removedPromotions,
    ).toEqual(['p1']);
  });
});

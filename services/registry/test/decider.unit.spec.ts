import { describe, expect, it } from 'vitest';
import { IllegalStateError, type EventData } from '@secai/contracts';
import { deciderSpec } from '@secai/contracts/testing';
import {
  evolve,
  initialState,
  promotionSettled,
  registryDecider,
  verificationTarget,
  type ModelEvent,
  type Observation,
  type RegistryCommand,
} from '../src/decider.js';

const HEX = 'ab'.repeat(32);
const DIGEST = `sha256:${HEX}`;
const OTHER = `sha256:${'cd'.repeat(32)}`;
const PROMOTED_ID = '01900000-0000-7000-8000-000000000001';
const REQUEST_ID = '01900000-0000-7000-8000-000000000099';

const promoted: EventData<'model.promoted'> = {
  decisionId: '01900000-0000-7000-8000-0000000000d1',
  name: 'Tiny Model',
  fileName: 'tiny.gguf',
  format: 'gguf',
  digest: DIGEST,
  sizeBytes: 1234,
  policyDigest: `sha256:${'00'.repeat(32)}`,
};

const stored: ModelEvent = {
  type: 'model.stored',
  aggregateId: HEX,
  causationId: PROMOTED_ID,
  data: {
    name: 'Tiny Model',
    format: 'gguf',
    sizeBytes: 1234,
    digest: DIGEST,
    storePath: `sha256/${HEX}/tiny.gguf`,
    fromArtifact: HEX,
  },
};

const hashed = (digest = DIGEST, sizeBytes = 1234): Observation => ({
  kind: 'hashed',
  digest,
  sizeBytes,
});
const absent: Observation = { kind: 'absent' };
const notChecked: Observation = { kind: 'not_checked' };

const store = (over: Partial<Extract<RegistryCommand, { type: 'store_promoted' }>> = {}) =>
  ({
    type: 'store_promoted',
    promotedId: PROMOTED_ID,
    artifactId: HEX,
    promoted,
    inStore: absent,
    incoming: hashed(),
    ...over,
  }) as const satisfies RegistryCommand;

const verification = (observed: Observation, location: 'store' | 'containment' = 'store') =>
  ({
    type: 'record_verification',
    trigger: 'request',
    location,
    observed,
    causationId: REQUEST_ID,
  }) as const satisfies RegistryCommand;

const incidentCause = { kind: 'incident', incidentId: 'inc-42' } as const;
const contain = (presence = { store: true, containment: false }) =>
  ({
    type: 'contain',
    cause: incidentCause,
    reason: 'integrity violation',
    presence,
    causationId: REQUEST_ID,
  }) as const satisfies RegistryCommand;

const contained: ModelEvent = {
  type: 'model.contained',
  aggregateId: HEX,
  causationId: REQUEST_ID,
  data: {
    name: 'Tiny Model',
    cause: incidentCause,
    reason: 'integrity violation',
    containedPath: `${HEX}/tiny.gguf`,
  },
};

const operator = { kind: 'operator', operator: 'cli' } as const;
const remove = (presence = { store: true, containment: false }) =>
  ({
    type: 'remove',
    cause: operator,
    reason: 'no longer needed',
    presence,
    causationId: REQUEST_ID,
  }) as const satisfies RegistryCommand;

const removed: ModelEvent = {
  type: 'model.removed',
  aggregateId: HEX,
  causationId: REQUEST_ID,
  data: { name: 'Tiny Model', cause: operator, reason: 'no longer needed' },
};

const verified: ModelEvent = {
  type: 'model.verified',
  aggregateId: HEX,
  causationId: REQUEST_ID,
  data: { trigger: 'request', expected: DIGEST, actual: DIGEST, sizeBytes: 1234 },
};

const failed = (
  problem: EventData<'model.verification.failed'>['problem'],
  actual: string | null,
  actualSizeBytes: number | null,
): ModelEvent => ({
  type: 'model.verification.failed',
  aggregateId: HEX,
  causationId: REQUEST_ID,
  data: {
    trigger: 'request',
    problem,
    expected: DIGEST,
    actual,
    expectedSizeBytes: 1234,
    actualSizeBytes,
  },
});

const spec = deciderSpec(registryDecider);

describe('promotion', () => {
  it('stores a promoted artifact whose custody copy matches: publish, then model.stored', () => {
    spec
      .given([])
      .when(store())
      .thenDecides({ events: [stored], effects: [{ kind: 'publish' }], outcome: 'stored' });
  });

  it('does not store a copy whose digest or size differs, and gives it back', () => {
    const giveBack = [{ kind: 'return_incoming' }] as const;
    spec
      .given([])
      .when(store({ incoming: hashed(OTHER) }))
      .thenRefuses('hash_mismatch', []);
    spec
      .given([])
      .when(store({ incoming: hashed(OTHER) }))
      .thenEffects([...giveBack]);
    spec
      .given([])
      .when(store({ incoming: hashed(DIGEST, 1) }))
      .thenRefuses('size_mismatch', []);
    spec
      .given([])
      .when(store({ incoming: hashed(DIGEST, 1) }))
      .thenEffects([...giveBack]);
    const unreadable = store({ incoming: { kind: 'unreadable', detail: 'ARTIFACT_SYMLINK' } });
    spec.given([]).when(unreadable).thenRefuses('artifact_unreadable', []);
    spec
      .given([])
      .when(unreadable)
      .thenEffects([...giveBack]);
  });

  it('refuses when the quarantine copy is missing, touching nothing', () => {
    spec
      .given([])
      .when(store({ incoming: absent }))
      .thenDecides({
        events: [],
        refusal: {
          code: 'artifact_missing',
          message: `the quarantine holds no copy of ${DIGEST}`,
        },
      });
  });

  it('records the missing model.stored when a crash left the bytes in the store', () => {
    spec
      .given([])
      .when(store({ inStore: hashed(), incoming: notChecked }))
      .thenDecides({ events: [stored], outcome: 'store_has_it' });
  });

  it('refuses when the store holds other bytes under the digest, touching nothing', () => {
    const conflict = store({ inStore: hashed(OTHER), incoming: notChecked });
    spec.given([]).when(conflict).thenRefuses('store_conflict', []);
    spec.given([]).when(conflict).thenEffects([]);
  });

  it('is idempotent: a redelivery, or the same bytes promoted again, store nothing', () => {
    spec
      .given([stored])
      .when(store({ inStore: notChecked, incoming: notChecked }))
      .thenDecides({ events: [], outcome: 'duplicate_promotion' });
    spec
      .given([stored])
      .when(store({ promotedId: 'another-promotion', inStore: notChecked, incoming: notChecked }))
      .thenDecides({ events: [], outcome: 'already_stored' });
    expect(promotionSettled(initialState(), store())).toBeNull();
    expect(promotionSettled([stored].reduce(evolve, initialState()), store())).toEqual({
      events: [],
      outcome: 'duplicate_promotion',
    });
  });

  it('does not bring back a contained model through a re-import', () => {
    spec
      .given([stored, contained])
      .when(store({ promotedId: 'reimport', inStore: notChecked, incoming: notChecked }))
      .thenDecides({ events: [], outcome: 'contained' });
  });

  it('stores again after a removal, but not for the promotion that stored it before', () => {
    spec
      .given([stored, removed])
      .when(store({ promotedId: 'reimport' }))
      .then([{ ...stored, causationId: 'reimport' }]);
    spec
      .given([stored, removed])
      .when(store())
      .thenDecides({ events: [], outcome: 'duplicate_promotion' });
  });

  it('refuses a promotion whose digest is not its artifact id', () => {
    spec
      .given([])
      .when(store({ artifactId: 'cd'.repeat(32) }))
      .thenRefuses('artifact_id_mismatch', []);
  });

  it('throws when the edge did not observe what the decision needs', () => {
    spec
      .given([])
      .when(store({ incoming: notChecked }))
      .thenThrows(IllegalStateError);
  });
});

describe('verification', () => {
  it('records model.verified when digest and size match', () => {
    spec
      .given([stored])
      .when(verification(hashed()))
      .thenDecides({ events: [verified], outcome: 'verified' });
  });

  it('records each problem of a failed verification', () => {
    spec
      .given([stored])
      .when(verification(hashed(OTHER)))
      .thenDecides({ events: [failed('mismatch', OTHER, 1234)], outcome: 'mismatch' });
    spec
      .given([stored])
      .when(verification(hashed(OTHER, 99)))
      .then([failed('size_mismatch', OTHER, 99)]);
    spec
      .given([stored])
      .when(verification(absent))
      .then([failed('missing', null, null)]);
    spec
      .given([stored])
      .when(verification({ kind: 'unreadable', detail: 'EIO' }))
      .then([failed('unreadable', null, null)]);
  });

  it('verifies a contained model where it is, and refuses a stale location', () => {
    spec.given([stored, contained]).when(verification(hashed(), 'containment')).then([verified]);
    spec
      .given([stored, contained])
      .when(verification(absent, 'store'))
      .thenDecides({
        events: [],
        refusal: {
          code: 'stale_observation',
          message: 'hashed in the store, but the model is in the containment',
        },
      });
  });

  it('refuses an unknown or removed model', () => {
    expect(verificationTarget(initialState())).toEqual({ ok: false, code: 'model_unknown' });
    spec.given([]).when(verification(hashed())).thenRefuses('model_unknown', []);
    spec.given([stored, removed]).when(verification(hashed())).thenRefuses('model_unknown', []);
    expect(verificationTarget([stored].reduce(evolve, initialState()))).toEqual({
      ok: true,
      location: 'store',
      sizeBytes: 1234,
    });
  });

  it('folds like the manifest projection: a pass clears a failure, never a containment', () => {
    const s1 = [stored, failed('mismatch', OTHER, 1234)].reduce(evolve, initialState());
    expect(s1.status).toBe('verification_failed');
    expect(evolve(s1, verified).status).toBe('available');
    const s2 = [stored, contained, failed('missing', null, null), verified].reduce(
      evolve,
      initialState(),
    );
    expect(s2.status).toBe('contained');
  });
});

describe('containment', () => {
  it('moves a stored model into containment and records model.contained', () => {
    spec
      .given([stored])
      .when(contain())
      .thenDecides({
        events: [contained],
        effects: [{ kind: 'move_to_containment' }],
        outcome: 'contained',
      });
  });

  it('is idempotent', () => {
    spec
      .given([stored, contained])
      .when(contain({ store: false, containment: true }))
      .thenDecides({ events: [], outcome: 'already_contained' });
    spec
      .given([stored, contained])
      .when(contain())
      .thenDecides({ events: [], outcome: 'already_contained' });
  });

  it('records the containment without a move when a crash already moved the bytes', () => {
    spec
      .given([stored])
      .when(contain({ store: false, containment: true }))
      .thenDecides({ events: [contained], outcome: 'contained_before' });
  });

  it('still records the containment when the bytes are gone (never runnable again)', () => {
    spec
      .given([stored])
      .when(contain({ store: false, containment: false }))
      .thenDecides({ events: [contained], outcome: 'bytes_missing' });
  });

  it('refuses an unknown model', () => {
    spec.given([]).when(contain()).thenRefuses('model_unknown', []);
    spec.given([stored, removed]).when(contain()).thenRefuses('model_unknown', []);
  });
});

describe('removal', () => {
  it('deletes from wherever the bytes are and records model.removed', () => {
    spec
      .given([stored])
      .when(remove())
      .thenDecides({
        events: [removed],
        effects: [{ kind: 'delete', store: true, containment: false }],
        outcome: 'removed',
      });
    spec
      .given([stored, contained])
      .when(remove({ store: false, containment: true }))
      .thenEffects([{ kind: 'delete', store: false, containment: true }]);
  });

  it('is idempotent, and refuses a model never stored', () => {
    spec
      .given([stored, removed])
      .when(remove())
      .thenDecides({ events: [], outcome: 'already_removed' });
    spec.given([]).when(remove()).thenRefuses('model_unknown', []);
  });
});

import {
  IllegalStateError,
  decided,
  refused,
  type Decider,
  type Decision as KernelDecision,
  type EventData,
} from '@secai/contracts';

// The registry's rules as pure functions (ARCHITECTURE §4): the state of one model aggregate
// (`model/<sha256 hex>`) is a fold over its events; a command carries what the edge observed on
// disk (hashes, presence) and the decision (the contracts' `Decision`) says which events to record,
// which file operation to perform (`effects`), and what was refused or what happened (`refusal`,
// `outcome`). No I/O, no clock: the edge (`registry.ts`, through the streams `CommandHandler`)
// observes, performs the effect, appends.

export type ModelEventType =
  | 'model.stored'
  | 'model.verified'
  | 'model.verification.failed'
  | 'model.contained'
  | 'model.removed';

/** One event of a model aggregate, as the decider reads and writes it. */
export type ModelEvent = {
  [T in ModelEventType]: {
    type: T;
    aggregateId: string;
    data: EventData<T>;
    /** The event or request that caused it (a `model.promoted` id for `model.stored`). */
    causationId: string | null;
  };
}[ModelEventType];

export const MODEL_EVENT_TYPES: readonly ModelEventType[] = [
  'model.stored',
  'model.verified',
  'model.verification.failed',
  'model.contained',
  'model.removed',
];

export function isModelEventType(type: string): type is ModelEventType {
  return (MODEL_EVENT_TYPES as readonly string[]).includes(type);
}

export type ModelLifecycle =
  'absent' | 'available' | 'verification_failed' | 'contained' | 'removed';

export interface ModelState {
  status: ModelLifecycle;
  /** What `model.stored` recorded; null while absent or once removed. */
  model: EventData<'model.stored'> | null;
  /** Relative to the containment area, while contained. */
  containedPath: string | null;
  /** Ids of the `model.promoted` events that stored it: a redelivered promotion stores nothing. */
  promotions: string[];
}

export type Trigger = EventData<'model.verified'>['trigger'];
export type RemovalCause = EventData<'model.removed'>['cause'];

/** What the edge saw at a path: not looked at, nothing there, the artifact's digest, or a failure. */
export type Observation =
  | { kind: 'not_checked' }
  | { kind: 'absent' }
  | { kind: 'hashed'; digest: string; sizeBytes: number }
  | { kind: 'unreadable'; detail: string };

/** Where a model's bytes are: the serving store, the containment area. */
export interface Presence {
  store: boolean;
  containment: boolean;
}

export type Location = 'store' | 'containment';

export type RegistryCommand =
  | {
      type: 'store_promoted';
      /** The `model.promoted` event id (causation of `model.stored`). */
      promotedId: string;
      /** The artifact aggregate id (digest hex) it was promoted from. */
      artifactId: string;
      promoted: EventData<'model.promoted'>;
      /** `sha256/<hex>/<fileName>` in the store (a crash may have left it there). */
      inStore: Observation;
      /** The quarantine's copy, taken into the registry's custody; checked only when the store has nothing. */
      incoming: Observation;
    }
  | {
      type: 'record_verification';
      trigger: Trigger;
      /** Where the hashed bytes were (the model may have moved meanwhile). */
      location: Location;
      observed: Observation;
      causationId: string | null;
    }
  | {
      type: 'contain';
      cause: RemovalCause;
      reason: string;
      presence: Presence;
      causationId: string | null;
    }
  | {
      type: 'remove';
      cause: RemovalCause;
      reason: string;
      presence: Presence;
      causationId: string | null;
    };

/** The file operation a decision asks the edge to perform before it appends the events. */
export type Effect =
  /** Rename the custody copy into `sha256/<hex>` (read-only). */
  | { kind: 'publish' }
  /** Give the custody copy back to the quarantine area (it did not match). */
  | { kind: 'return_incoming' }
  | { kind: 'move_to_containment' }
  | { kind: 'delete'; store: boolean; containment: boolean };

export type RefusalCode =
  | 'model_unknown'
  | 'artifact_id_mismatch'
  | 'hash_mismatch'
  | 'size_mismatch'
  | 'artifact_missing'
  | 'artifact_unreadable'
  | 'store_conflict'
  | 'stale_observation';

/** What happened when nothing was refused (the decision's `outcome`, for logs and replies). */
export type Outcome =
  | 'stored'
  /** A crash left the right bytes in the store: only `model.stored` is recorded. */
  | 'store_has_it'
  | 'duplicate_promotion'
  | 'already_stored'
  /** Contained (or, for a promotion, already contained: a re-import stores nothing). */
  | 'contained'
  | 'contained_before'
  | 'bytes_missing'
  | 'already_contained'
  | 'verified'
  | EventData<'model.verification.failed'>['problem']
  | 'removed'
  | 'already_removed';

/**
 * A registry decision: at most one effect (the edge performs it before the append); a refusal
 * (code = `RefusalCode`) records nothing, and may still ask for the custody copy to go back.
 */
export type Decision = KernelDecision<ModelEvent, Effect, RefusalCode>;

export function initialState(): ModelState {
  return { status: 'absent', model: null, containedPath: null, promotions: [] };
}

export function evolve(state: ModelState, event: ModelEvent): ModelState {
  switch (event.type) {
    case 'model.stored':
      return {
        status: 'available',
        model: event.data,
        containedPath: null,
        promotions:
          event.causationId === null || state.promotions.includes(event.causationId)
            ? state.promotions
            : [...state.promotions, event.causationId],
      };
    case 'model.verified':
      // As in the manifest projection: a passing check clears a failed one, never a containment.
      return state.status === 'verification_failed' ? { ...state, status: 'available' } : state;
    case 'model.verification.failed':
      return state.status === 'available' ? { ...state, status: 'verification_failed' } : state;
    case 'model.contained':
      return state.model
        ? { ...state, status: 'contained', containedPath: event.data.containedPath }
        : state;
    case 'model.removed':
      return { ...state, status: 'removed', model: null, containedPath: null };
  }
}

/** Where a model's bytes live in the store, relative to the store root. */
export function storePathOf(hex: string, fileName: string): string {
  return `sha256/${hex}/${fileName}`;
}

/** Where a contained model's bytes live, relative to the containment area. */
export function containedPathOf(hex: string, fileName: string): string {
  return `${hex}/${fileName}`;
}

/** The artifact's file or directory name (last segment of its store path). */
export function fileNameOf(model: { storePath: string }): string {
  return model.storePath.slice(model.storePath.lastIndexOf('/') + 1);
}

export function hexOf(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
}

/** Whether the model is in the registry (stored, not removed). */
export function isKnown(state: ModelState): boolean {
  return state.model !== null && state.status !== 'absent' && state.status !== 'removed';
}

export function locationOf(state: ModelState): Location | null {
  if (!isKnown(state)) return null;
  return state.status === 'contained' ? 'containment' : 'store';
}

/** Nothing to record and nothing to do: `outcome` says why. */
const nothing = (outcome: Outcome): Decision => decided([], { outcome });
/** Events to record, with the file operation that comes first (if any). */
const record = (outcome: Outcome, events: ModelEvent[], effect?: Effect): Decision =>
  decided(events, { outcome, ...(effect ? { effects: [effect] } : {}) });
const refuse = (code: RefusalCode, message: string, effect?: Effect): Decision =>
  refused(code, message, effect ? { effects: [effect] } : {});

const unknownModel = (): Decision =>
  refuse('model_unknown', 'no such model in the registry (never stored, or removed)');

/**
 * Whether a promotion is settled by the state alone (its decision), so that the edge need not
 * touch the disk: a redelivery, a model already stored or contained (a re-import of contained
 * bytes does not bring them back), or an event whose digest is not its artifact's.
 */
export function promotionSettled(
  state: ModelState,
  command: { promotedId: string; artifactId: string; promoted: EventData<'model.promoted'> },
): Decision | null {
  if (hexOf(command.promoted.digest) !== command.artifactId)
    return refuse(
      'artifact_id_mismatch',
      `the promoted digest ${command.promoted.digest} is not artifact ${command.artifactId}`,
    );
  if (state.promotions.includes(command.promotedId)) return nothing('duplicate_promotion');
  if (state.status === 'contained') return nothing('contained');
  if (isKnown(state)) return nothing('already_stored');
  return null;
}

function matches(o: Observation, digest: string, sizeBytes: number): boolean {
  return o.kind === 'hashed' && o.digest === digest && o.sizeBytes === sizeBytes;
}

function decideStore(
  c: Extract<RegistryCommand, { type: 'store_promoted' }>,
  state: ModelState,
): Decision {
  const settled = promotionSettled(state, c);
  if (settled) return settled;
  const { digest, sizeBytes } = c.promoted;
  const hex = hexOf(digest);
  const stored: ModelEvent = {
    type: 'model.stored',
    aggregateId: hex,
    causationId: c.promotedId,
    data: {
      name: c.promoted.name,
      format: c.promoted.format,
      sizeBytes,
      digest,
      storePath: storePathOf(hex, c.promoted.fileName),
      fromArtifact: c.artifactId,
    },
  };
  switch (c.inStore.kind) {
    case 'hashed':
      // A crash after the rename and before the event: the store already holds the right bytes.
      return matches(c.inStore, digest, sizeBytes)
        ? record('store_has_it', [stored])
        : refuse(
            'store_conflict',
            `the store holds other bytes under ${digest}: ${c.inStore.digest} (${c.inStore.sizeBytes} bytes)`,
          );
    case 'unreadable':
      return refuse(
        'store_conflict',
        `the store holds unreadable bytes under ${digest}: ${c.inStore.detail}`,
      );
    case 'absent':
    case 'not_checked':
      break;
  }
  const giveBack: Effect = { kind: 'return_incoming' };
  switch (c.incoming.kind) {
    case 'not_checked':
      throw new IllegalStateError('a promotion needs the incoming copy observed');
    case 'absent':
      return refuse('artifact_missing', `the quarantine holds no copy of ${digest}`);
    case 'unreadable':
      return refuse('artifact_unreadable', `the custody copy: ${c.incoming.detail}`, giveBack);
    case 'hashed':
      if (c.incoming.digest !== digest)
        return refuse(
          'hash_mismatch',
          `the custody copy hashes to ${c.incoming.digest}, not ${digest}`,
          giveBack,
        );
      if (c.incoming.sizeBytes !== sizeBytes)
        return refuse(
          'size_mismatch',
          `the custody copy has ${c.incoming.sizeBytes} bytes, not ${sizeBytes}`,
          giveBack,
        );
      return record('stored', [stored], { kind: 'publish' });
  }
}

/** Whether a verification can start, and how many bytes it will read. */
export function verificationTarget(
  state: ModelState,
): { ok: true; location: Location; sizeBytes: number } | { ok: false; code: 'model_unknown' } {
  const location = locationOf(state);
  if (!location || !state.model) return { ok: false, code: 'model_unknown' };
  return { ok: true, location, sizeBytes: state.model.sizeBytes };
}

function decideVerification(
  c: Extract<RegistryCommand, { type: 'record_verification' }>,
  state: ModelState,
): Decision {
  const location = locationOf(state);
  const model = state.model;
  if (!location || !model) return unknownModel();
  // The model moved while it was hashed: the edge hashes it again where it is now.
  if (location !== c.location)
    return refuse(
      'stale_observation',
      `hashed in the ${c.location}, but the model is in the ${location}`,
    );
  const hex = hexOf(model.digest);
  const failed = (
    problem: EventData<'model.verification.failed'>['problem'],
    actual: string | null,
    actualSizeBytes: number | null,
  ): Decision =>
    record(problem, [
      {
        type: 'model.verification.failed',
        aggregateId: hex,
        causationId: c.causationId,
        data: {
          trigger: c.trigger,
          problem,
          expected: model.digest,
          actual,
          expectedSizeBytes: model.sizeBytes,
          actualSizeBytes,
        },
      },
    ]);
  switch (c.observed.kind) {
    case 'not_checked':
      throw new IllegalStateError('a verification needs the model observed');
    case 'absent':
      return failed('missing', null, null);
    case 'unreadable':
      return failed('unreadable', null, null);
    case 'hashed':
      if (c.observed.sizeBytes !== model.sizeBytes)
        return failed('size_mismatch', c.observed.digest, c.observed.sizeBytes);
      if (c.observed.digest !== model.digest)
        return failed('mismatch', c.observed.digest, c.observed.sizeBytes);
      return record('verified', [
        {
          type: 'model.verified',
          aggregateId: hex,
          causationId: c.causationId,
          data: {
            trigger: c.trigger,
            expected: model.digest,
            actual: c.observed.digest,
            sizeBytes: c.observed.sizeBytes,
          },
        },
      ]);
  }
}

function decideContain(
  c: Extract<RegistryCommand, { type: 'contain' }>,
  state: ModelState,
): Decision {
  const model = state.model;
  if (!isKnown(state) || !model) return unknownModel();
  if (state.status === 'contained') return nothing('already_contained');
  const hex = hexOf(model.digest);
  const event: ModelEvent = {
    type: 'model.contained',
    aggregateId: hex,
    causationId: c.causationId,
    data: {
      name: model.name,
      cause: c.cause,
      reason: c.reason,
      containedPath: containedPathOf(hex, fileNameOf(model)),
    },
  };
  if (c.presence.store) return record('contained', [event], { kind: 'move_to_containment' });
  // Moved before a crash, or the bytes are gone: either way the model is out of service, and
  // recording the containment keeps it so (it is never runnable again by accident).
  return record(c.presence.containment ? 'contained_before' : 'bytes_missing', [event]);
}

function decideRemove(
  c: Extract<RegistryCommand, { type: 'remove' }>,
  state: ModelState,
): Decision {
  const model = state.model;
  if (state.status === 'removed') return nothing('already_removed');
  if (!isKnown(state) || !model) return unknownModel();
  return record(
    'removed',
    [
      {
        type: 'model.removed',
        aggregateId: hexOf(model.digest),
        causationId: c.causationId,
        data: { name: model.name, cause: c.cause, reason: c.reason },
      },
    ],
    { kind: 'delete', store: c.presence.store, containment: c.presence.containment },
  );
}

export function decide(command: RegistryCommand, state: ModelState): Decision {
  switch (command.type) {
    case 'store_promoted':
      return decideStore(command, state);
    case 'record_verification':
      return decideVerification(command, state);
    case 'contain':
      return decideContain(command, state);
    case 'remove':
      return decideRemove(command, state);
  }
}

export const registryDecider: Decider<
  RegistryCommand,
  ModelEvent,
  ModelState,
  Effect,
  ModelEvent,
  RefusalCode
> = {
  decide,
  evolve,
  initialState,
};

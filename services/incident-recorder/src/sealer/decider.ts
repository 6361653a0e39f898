import { decided, type Decider, type Decision, type DraftEvent } from '@secai/contracts';

/**
 * The audit chain sealer as a decider. Hashing happens at the edge (`chainLink`); this module
 * decides when to seal and what a seal says. Its state is folded from the whole stream (every
 * chained entry), not from the `audit/chain` aggregate alone, so the edge feeds it from its
 * follower instead of the command kernel's per-aggregate load; a conflicting append means
 * another sealer's seal, which arrives through the same follower.
 */
export interface SealerState {
  /** Chain head after `lastSeq`. */
  head: string;
  lastSeq: number;
  /** Last sequence covered by a seal, and the head there. */
  sealedToSeq: number;
  sealedHead: string;
  /** Stream sequence of the last seal event (the expected sequence of the next seal append). */
  lastSealEventSeq: number;
  /** Non-seal events chained so far, and how many of them the last seal covered. */
  eventsChained: number;
  eventsSealed: number;
}

export interface SealPolicy {
  everyEvents: number;
  everyMs: number;
}

export const DEFAULT_SEAL_POLICY: SealPolicy = { everyEvents: 1000, everyMs: 10_000 };

export function initialSealerState(genesisHead: string): SealerState {
  return {
    head: genesisHead,
    lastSeq: 0,
    sealedToSeq: 0,
    sealedHead: genesisHead,
    lastSealEventSeq: 0,
    eventsChained: 0,
    eventsSealed: 0,
  };
}

/**
 * One chained stream entry. A seal carries what it claims (`toSeq`, `head`) and, from the edge's
 * own chain, how many non-seal events existed at its `toSeq`.
 */
export type ChainedEntry =
  | { kind: 'event'; seq: number; head: string }
  | {
      kind: 'seal';
      seq: number;
      head: string;
      seal: { toSeq: number; head: string; eventsAtToSeq: number };
    };

export function evolve(state: SealerState, entry: ChainedEntry): SealerState {
  if (entry.kind === 'event') {
    return {
      ...state,
      head: entry.head,
      lastSeq: entry.seq,
      eventsChained: state.eventsChained + 1,
    };
  }
  const next = { ...state, head: entry.head, lastSeq: entry.seq, lastSealEventSeq: entry.seq };
  // A seal made by us or an earlier run moves the sealed mark forward, never back.
  if (entry.seal.toSeq >= state.sealedToSeq) {
    next.sealedToSeq = entry.seal.toSeq;
    next.sealedHead = entry.seal.head;
    next.eventsSealed = entry.seal.eventsAtToSeq;
  }
  return next;
}

export function unsealedEvents(state: SealerState): number {
  return state.eventsChained - state.eventsSealed;
}

/** Seal after N events, or after T ms with anything unsealed. Seals alone never trigger a seal. */
export function shouldSeal(
  state: SealerState,
  policy: SealPolicy,
  msSinceLastSeal: number,
): boolean {
  const unsealed = unsealedEvents(state);
  if (unsealed === 0 || state.lastSeq <= state.sealedToSeq) return false;
  return unsealed >= policy.everyEvents || msSinceLastSeal >= policy.everyMs;
}

export interface SealCommand {
  type: 'seal';
  /** The operator's request this seal answers (`secai events seal`), if any. */
  requestId?: string;
}

export type SealDraft = DraftEvent<'audit.checkpoint.sealed'>;

/** The seal covering everything chained since the previous one (no events: nothing to seal). */
export function decideSeal(command: SealCommand, state: SealerState): Decision<SealDraft> {
  if (state.lastSeq <= state.sealedToSeq || unsealedEvents(state) === 0)
    return decided([], { outcome: 'nothing_to_seal' });
  const data: SealDraft['data'] = {
    fromSeq: state.sealedToSeq + 1,
    toSeq: state.lastSeq,
    count: state.lastSeq - state.sealedToSeq,
    head: state.head,
    previousHead: state.sealedHead,
  };
  if (command.requestId !== undefined) data.requestId = command.requestId;
  return decided([{ type: 'audit.checkpoint.sealed', aggregateId: 'chain', data }], {
    outcome: 'sealed',
  });
}

/** The sealer in the kernel's shape, starting from `genesisHead`; it folds chained entries. */
export function sealerDecider(
  genesisHead: string,
): Decider<SealCommand, SealDraft, SealerState, never, ChainedEntry> {
  return { decide: decideSeal, evolve, initialState: () => initialSealerState(genesisHead) };
}

/** State right after a seal was appended (before it comes back through the stream). */
export function sealed(state: SealerState, seal: SealDraft, sealEventSeq: number): SealerState {
  return {
    ...state,
    sealedToSeq: seal.data.toSeq,
    sealedHead: seal.data.head,
    lastSealEventSeq: sealEventSeq,
    eventsSealed: state.eventsChained,
  };
}

// The audit chain as the page can check it. The incident recorder chains every entry of the stream
// (refused ones too: the chain is over the bytes as stored) and seals ranges with
// `audit.checkpoint.sealed { fromSeq, toSeq, count, head, previousHead }`. A seal whose whole range
// is on screen is recomputed here from its previousHead; the page then says how much of what it
// shows is covered by a seal it checked, and how much is not sealed yet.

export interface ChainOps {
  /** SHA-256 of the envelope bytes exactly as stored. */
  entryDigest(bytes: Uint8Array): Promise<Uint8Array>;
  /** SHA-256(previous head || seq as 8 bytes big-endian || entry digest), as hex. */
  linkHead(previousHeadHex: string, seq: number, digest: Uint8Array): Promise<string>;
}

export interface SealData {
  fromSeq: number;
  toSeq: number;
  count: number;
  head: string;
  previousHead: string;
}

export type SealStatus = 'matches' | 'mismatch' | 'not_on_screen';

export interface SealCheck extends SealData {
  /** Stream sequence of the seal event itself. */
  sealSeq: number;
  status: SealStatus;
  /** The head the page computed (when the range was on screen). */
  computedHead: string | null;
}

/** Entry digests by stream sequence, for the entries the page received. */
export class ChainWindow {
  readonly #digests = new Map<number, Uint8Array>();
  #first: number | null = null;
  #last: number | null = null;

  add(seq: number, digest: Uint8Array): void {
    this.#digests.set(seq, digest);
    if (this.#first === null || seq < this.#first) this.#first = seq;
    if (this.#last === null || seq > this.#last) this.#last = seq;
  }

  /** Drops the digests up to `seq` (a page left open for days must not keep them all). */
  forgetThrough(seq: number): void {
    for (const key of this.#digests.keys()) {
      if (key <= seq) this.#digests.delete(key);
    }
  }

  digestAt(seq: number): Uint8Array | undefined {
    return this.#digests.get(seq);
  }

  get firstSeq(): number | null {
    return this.#first;
  }

  get lastSeq(): number | null {
    return this.#last;
  }
}

/** Recomputes a seal's head from the entries on screen (when all of its range is there). */
export async function checkSeal(
  seal: SealData,
  sealSeq: number,
  window: ChainWindow,
  ops: ChainOps,
): Promise<SealCheck> {
  let head = seal.previousHead;
  for (let seq = seal.fromSeq; seq <= seal.toSeq; seq++) {
    const digest = window.digestAt(seq);
    if (digest === undefined)
      return { ...seal, sealSeq, status: 'not_on_screen', computedHead: null };
    head = await ops.linkHead(head, seq, digest);
  }
  return {
    ...seal,
    sealSeq,
    status: head === seal.head ? 'matches' : 'mismatch',
    computedHead: head,
  };
}

export interface Coverage {
  firstSeq: number | null;
  lastSeq: number | null;
  /** The newest seal seen (by the range it covers). */
  lastSeal: SealCheck | null;
  /** The newest unbroken run of entries covered by seals the page recomputed. */
  checkedFrom: number | null;
  checkedTo: number | null;
  /** Entries on screen after the newest seal: not sealed yet. */
  unsealed: number;
  /** Any seal whose recomputed head differs: the history on screen is not what was sealed. */
  mismatch: SealCheck | null;
  /** The whole sentence for the screen. */
  say: string;
}

/** How much of the range on screen the seals cover, and what the page checked of it. */
export function coverageOf(
  firstSeq: number | null,
  lastSeq: number | null,
  seals: readonly SealCheck[],
): Coverage {
  const ordered = [...seals].sort((a, b) => a.toSeq - b.toSeq);
  const lastSeal = ordered.at(-1) ?? null;
  const mismatch = ordered.find((s) => s.status === 'mismatch') ?? null;
  if (firstSeq === null || lastSeq === null) {
    return {
      firstSeq,
      lastSeq,
      lastSeal,
      checkedFrom: null,
      checkedTo: null,
      unsealed: 0,
      mismatch,
      say: 'No entries read yet.',
    };
  }
  // The newest unbroken run of recomputed seals (each starting where the previous ended).
  let checkedFrom: number | null = null;
  let checkedTo: number | null = null;
  for (const s of ordered) {
    if (s.status !== 'matches') {
      checkedFrom = checkedTo = null;
    } else if (checkedTo !== null && s.fromSeq === checkedTo + 1) {
      checkedTo = s.toSeq;
    } else {
      checkedFrom = s.fromSeq;
      checkedTo = s.toSeq;
    }
  }
  const sealedTo = lastSeal?.toSeq ?? 0;
  const unsealed = Math.max(0, lastSeq - Math.max(sealedTo, firstSeq - 1));
  const range = `Entries read by this page: ${firstSeq}–${lastSeq}.`;
  const notYet = `${unsealed} entr${unsealed === 1 ? 'y is' : 'ies are'} not sealed yet`;
  let say: string;
  if (mismatch) {
    say = `${range} CHAIN MISMATCH: the seal at #${mismatch.sealSeq} (entries ${mismatch.fromSeq}–${mismatch.toSeq}) says head ${mismatch.head.slice(0, 16)}…, the entries on screen give ${mismatch.computedHead?.slice(0, 16) ?? '?'}….`;
  } else if (lastSeal === null) {
    say = `${range} No seal seen in this window: none of it is covered by a checked seal.`;
  } else if (checkedFrom === null || checkedTo === null) {
    say = `${range} Last seal at #${lastSeal.sealSeq} covers up to ${lastSeal.toSeq}, but its range begins before the window, so the page could not recompute it; ${notYet}.`;
  } else {
    const before =
      Math.max(firstSeq, checkedFrom) > firstSeq
        ? ` (entries ${firstSeq}–${checkedFrom - 1} belong to a seal that begins before the window and was not recomputed)`
        : '';
    say = `${range} Last seal at #${lastSeal.sealSeq} covers up to ${lastSeal.toSeq}; entries ${Math.max(firstSeq, checkedFrom)}–${checkedTo} are covered by seals recomputed here${before}; ${notYet}.`;
  }
  return { firstSeq, lastSeq, lastSeal, checkedFrom, checkedTo, unsealed, mismatch, say };
}

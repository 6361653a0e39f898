import { ChainBuilder, GENESIS_HEAD } from '@secai/projections';

/** Whether a seal's head is the one recomputed from the stored entries the watch read. */
export type SealCheck = 'chain-verified' | 'chain-mismatch' | 'not-checked';

/**
 * The hash chain (projections' `ChainBuilder`) over the history the watch reads, to check each
 * seal it meets there: the head recomputed at the seal's `toSeq` must be the head it signed. The
 * chain can only be rebuilt from sequence 1 (the genesis head); a stream whose start was trimmed,
 * or a seal that arrives live (no sequence), is `not-checked` (`secai events verify` checks it
 * from the previous seal). Heads are kept only since the last seal checked, like the verifier.
 */
export class SealChecker {
  readonly #chain = new ChainBuilder({ seq: 0, head: GENESIS_HEAD });
  readonly #heads = new Map<number, string>();
  #broken = false;

  /** The entry stored at `seq`, by the SHA-256 of its bytes (`entryDigest`). */
  add(seq: number, digest: Uint8Array): void {
    if (this.#broken) return;
    if (this.#chain.lastSeq === 0 && seq !== 1) {
      // Not from the start: nothing later can be checked from the genesis head.
      this.#broken = true;
      return;
    }
    this.#chain.appendDigest(seq, digest);
    this.#heads.set(seq, this.#chain.head);
  }

  /** The verdict on a verified seal; heads up to its `toSeq` are then forgotten. */
  check(seal: { toSeq: number; head: string }): SealCheck {
    const head = this.#heads.get(seal.toSeq);
    if (this.#broken || head === undefined) return 'not-checked';
    for (const seq of this.#heads.keys()) if (seq < seal.toSeq) this.#heads.delete(seq);
    return head === seal.head ? 'chain-verified' : 'chain-mismatch';
  }
}

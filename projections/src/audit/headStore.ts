const INITIAL_SLOTS = 1024;

/**
 * Digest and head of every chained entry a later seal may still reference, in flat typed arrays
 * (64 bytes and a flag per entry) indexed by `seq - base`. A seal prunes everything before its
 * window end, so memory follows the distance between seals, not the length of history.
 */
export class HeadStore {
  #base = 0;
  #length = 0;
  #digests = new Uint8Array(32 * INITIAL_SLOTS);
  #heads = new Uint8Array(32 * INITIAL_SLOTS);
  #present = new Uint8Array(INITIAL_SLOTS);

  /** Records entry `seq`; sequences must increase (gaps leave empty slots). */
  record(seq: number, digest: Uint8Array, head: Uint8Array): void {
    if (this.#length === 0) this.#base = seq;
    const index = seq - this.#base;
    this.#ensure(index + 1);
    this.#digests.set(digest, index * 32);
    this.#heads.set(head, index * 32);
    this.#present[index] = 1;
    this.#length = index + 1;
  }

  /** A copy of the head after `seq`, or null when it was not chained or was pruned. */
  head(seq: number): Buffer | null {
    const index = this.#index(seq);
    return index === null ? null : Buffer.from(this.#heads.subarray(index * 32, index * 32 + 32));
  }

  /** A view of the digest of the entry at `seq` (valid until the next record/prune). */
  digest(seq: number): Uint8Array | null {
    const index = this.#index(seq);
    return index === null ? null : this.#digests.subarray(index * 32, index * 32 + 32);
  }

  /** Forgets every entry below `seq`. */
  pruneBelow(seq: number): void {
    const drop = seq - this.#base;
    if (drop <= 0 || this.#length === 0) return;
    if (drop >= this.#length) {
      this.#present.fill(0, 0, this.#length);
      this.#length = 0;
      this.#base = seq;
      return;
    }
    const keep = this.#length - drop;
    this.#digests.copyWithin(0, drop * 32, this.#length * 32);
    this.#heads.copyWithin(0, drop * 32, this.#length * 32);
    this.#present.copyWithin(0, drop, this.#length);
    this.#present.fill(0, keep, this.#length);
    this.#length = keep;
    this.#base = seq;
  }

  #index(seq: number): number | null {
    const index = seq - this.#base;
    if (index < 0 || index >= this.#length || this.#present[index] !== 1) return null;
    return index;
  }

  #ensure(slots: number): void {
    if (slots <= this.#present.length) return;
    let size = this.#present.length;
    while (size < slots) size *= 2;
    const digests = new Uint8Array(32 * size);
    const heads = new Uint8Array(32 * size);
    const present = new Uint8Array(size);
    digests.set(this.#digests.subarray(0, this.#length * 32));
    heads.set(this.#heads.subarray(0, this.#length * 32));
    present.set(this.#present.subarray(0, this.#length));
    this.#digests = digests;
    this.#heads = heads;
    this.#present = present;
  }
}

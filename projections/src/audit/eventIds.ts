const INITIAL_SLOTS = 1024;
const WORDS = 4;
/** A UUID in its canonical lowercase form: kept as its 16 bytes, exactly. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The stream sequence each event id was first seen at, so an event that repeats an earlier id (a
 * service storing one of its old events again) is found however far apart the two are. Our ids
 * are UUIDs (`newEventId`): those are kept as their 16 bytes in an open-addressing table (24
 * bytes a slot, at most half full, so ≤ 48 bytes per id instead of a string and a map entry
 * each); any other id string, which only a signer bypassing `newEventId` makes, in a map. Slots
 * are chosen with a hash seeded at random per index, so whoever picks ids cannot aim them at one
 * run of slots to slow the verifier down.
 */
export class EventIdIndex {
  readonly #seed = globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
  #keys = new Uint32Array(WORDS * INITIAL_SLOTS);
  /** First sequence per slot; 0 marks an empty slot (sequences start at 1). */
  #seqs = new Float64Array(INITIAL_SLOTS);
  #slotsUsed = 0;
  readonly #others = new Map<string, number>();

  /**
   * Records `id` as seen at `seq` unless it was seen before; returns the earlier sequence when it
   * was, else null.
   */
  firstSeen(id: string, seq: number): number | null {
    if (!CANONICAL_UUID.test(id)) {
      const earlier = this.#others.get(id);
      if (earlier !== undefined) return earlier;
      this.#others.set(id, seq);
      return null;
    }
    const hex = id.replaceAll('-', '');
    const w0 = parseInt(hex.slice(0, 8), 16);
    const w1 = parseInt(hex.slice(8, 16), 16);
    const w2 = parseInt(hex.slice(16, 24), 16);
    const w3 = parseInt(hex.slice(24, 32), 16);
    const slot = this.#find(w0, w1, w2, w3);
    const earlier = this.#seqs[slot]!;
    if (earlier !== 0) return earlier;
    this.#keys.set([w0, w1, w2, w3], slot * WORDS);
    this.#seqs[slot] = seq;
    this.#slotsUsed += 1;
    if (this.#slotsUsed * 2 > this.#seqs.length) this.#grow();
    return null;
  }

  /** Ids recorded. */
  get size(): number {
    return this.#slotsUsed + this.#others.size;
  }

  /** The slot holding this key, or the empty slot where it belongs. */
  #find(w0: number, w1: number, w2: number, w3: number): number {
    const mask = this.#seqs.length - 1;
    for (let slot = this.#hash(w0, w1, w2, w3) & mask; ; slot = (slot + 1) & mask) {
      if (this.#seqs[slot] === 0) return slot;
      const at = slot * WORDS;
      const keys = this.#keys;
      if (keys[at] === w0 && keys[at + 1] === w1 && keys[at + 2] === w2 && keys[at + 3] === w3)
        return slot;
    }
  }

  /** Mixes all 128 bits with the seed (murmur3's finaliser per word). */
  #hash(w0: number, w1: number, w2: number, w3: number): number {
    let h = this.#seed;
    for (const w of [w0, w1, w2, w3]) {
      h = Math.imul(h ^ w, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
    return h >>> 0;
  }

  #grow(): void {
    const keys = this.#keys;
    const seqs = this.#seqs;
    this.#keys = new Uint32Array(keys.length * 2);
    this.#seqs = new Float64Array(seqs.length * 2);
    for (let slot = 0; slot < seqs.length; slot += 1) {
      if (seqs[slot] === 0) continue;
      const at = slot * WORDS;
      const to = this.#find(keys[at]!, keys[at + 1]!, keys[at + 2]!, keys[at + 3]!);
      this.#keys.set(keys.subarray(at, at + WORDS), to * WORDS);
      this.#seqs[to] = seqs[slot]!;
    }
  }
}

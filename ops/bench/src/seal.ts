import { TYPE_HEADER, headers, type JetStreamClient } from '@secai/streams';
import { signEvent, type Signer } from '@secai/contracts';
import { ChainBuilder, GENESIS_HEAD } from '@secai/projections';
import { subjectOf } from './publish.js';

/**
 * The incident recorder's sealing, done by the bench between measures (untimed) so that
 * `events verify` has real seals to check: the hash chain over every stored entry in sequence
 * order, and an `audit.checkpoint.sealed` (signed by `incident-recorder`) every `every` entries.
 * A block's seals are appended after the block (the live sealer trails the stream the same way,
 * only closer); the next window starts with them, so seals are chained and sealed too.
 */
export class BenchSealer {
  readonly #chain = new ChainBuilder();
  #sealedTo = 0;
  #sealedHead = GENESIS_HEAD;
  #seals = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly signer: Signer,
    private readonly every = 1000,
  ) {}

  get seals(): number {
    return this.#seals;
  }

  get lastSeq(): number {
    return this.#chain.lastSeq;
  }

  /** Where the last seal's window ends and the head it signed: where a checked range may start. */
  get sealedMark(): { seq: number; head: string } {
    return { seq: this.#sealedTo, head: this.#sealedHead };
  }

  /**
   * Chains the entries stored after the last chained sequence (they must be contiguous), seals
   * every `every` entries and the remainder, and appends the seals.
   */
  async sealBlock(
    stored: ReadonlyMap<number, { bytes: Uint8Array }>,
    toSeq: number,
  ): Promise<void> {
    const windows: { toSeq: number; head: string }[] = [];
    for (let seq = this.#chain.lastSeq + 1; seq <= toSeq; seq++) {
      const entry = stored.get(seq);
      if (!entry) throw new Error(`seq ${seq} was not published by this bench`);
      this.#chain.append(seq, entry.bytes);
      if (seq - (windows.at(-1)?.toSeq ?? this.#sealedTo) >= this.every || seq === toSeq) {
        windows.push({ toSeq: seq, head: this.#chain.head });
      }
    }
    for (const { toSeq: to, head } of windows) {
      const { event, bytes } = signEvent(
        {
          type: 'audit.checkpoint.sealed',
          aggregateId: 'chain',
          data: {
            fromSeq: this.#sealedTo + 1,
            toSeq: to,
            count: to - this.#sealedTo,
            head,
            previousHead: this.#sealedHead,
          },
        },
        this.signer,
        { now: new Date() },
      );
      const h = headers();
      h.set(TYPE_HEADER, event.type);
      const ack = await this.js.publish(subjectOf(event.subject), bytes, {
        msgID: event.id,
        headers: h,
      });
      if (ack.seq !== this.#chain.lastSeq + 1) {
        throw new Error(`seal landed at seq ${ack.seq}, expected ${this.#chain.lastSeq + 1}`);
      }
      this.#chain.append(ack.seq, bytes);
      this.#sealedTo = to;
      this.#sealedHead = head;
      this.#seals++;
    }
  }
}

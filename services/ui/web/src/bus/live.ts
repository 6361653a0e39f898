import {
  decodePayloadWeb,
  entryDigestWeb,
  linkHeadWeb,
  parseEnvelope,
  verdictOf,
  type CloudEvent,
  type DsseEnvelope,
  type Verdict,
  type WebTrustStore,
} from '@secai/contracts/web';
import {
  ChainWindow,
  checkSeal,
  coverageOf,
  type Coverage,
  type SealCheck,
} from '../model/chain.js';
import { foldDashboard, initialDashboard, type Dashboard } from '../model/dashboard.js';
import type { Refused, Seen } from '../model/types.js';

// Everything the page knows of the stream, fed one stored message at a time in stream order:
// every envelope is verified in the page against the pinned root; a verified one is folded into
// the views, a refused one is kept apart with its code and what it claims, never folded. Every
// entry, refused or not, is hashed for the audit chain (the recorder chains the bytes as stored).

/** How far back the page reads when it connects (the newest entries of the stream). */
export const REPLAY_CAP = 20_000;
const MAX_EVENTS = REPLAY_CAP;
const MAX_REFUSED = 2_000;

export interface LiveEvent extends Seen {
  envelope: DsseEnvelope;
  size: number;
}

export interface RefusedRow extends Refused {
  /** What the payload says it is, decoded without trust (null when it cannot be read at all). */
  claimed: CloudEvent | null;
}

export type Phase = 'idle' | 'connecting' | 'replaying' | 'live' | 'error' | 'closed';

export interface LiveSnapshot {
  phase: Phase;
  detail: string;
  /** The first stream sequence read (the replay cap may start after the stream's first). */
  startSeq: number | null;
  streamFirstSeq: number | null;
  /** The stream's last sequence when the page connected: the end of the replay. */
  replayTo: number | null;
  lastSeq: number | null;
  dashboard: Dashboard;
  /** Verified events, oldest first (mutable buffer; `version` says when it changed). */
  events: readonly LiveEvent[];
  refused: readonly RefusedRow[];
  seals: readonly SealCheck[];
  coverage: Coverage;
  version: number;
}

export interface StoredMessage {
  subject: string;
  seq: number;
  data: Uint8Array;
  /** The `Secai-Type` header it was stored with. */
  typeHeader?: string;
}

/** A message with its digest and verdict, ready to be folded in stream order. */
export interface Prepared {
  message: StoredMessage;
  digest: Uint8Array;
  verdict: Verdict;
  trust: WebTrustStore;
}

type Listener = (snapshot: LiveSnapshot) => void;

// The browser's frame clock; absent where the store runs outside a page (unit tests in Node).
const nextFrame = (
  globalThis as { requestAnimationFrame?: (callback: () => void) => number }
).requestAnimationFrame?.bind(globalThis);

export class LiveStore {
  #trust: WebTrustStore | null = null;
  #dashboard = initialDashboard();
  readonly #events: LiveEvent[] = [];
  readonly #refused: RefusedRow[] = [];
  readonly #seals: SealCheck[] = [];
  readonly #chain = new ChainWindow();
  readonly #listeners = new Set<Listener>();
  #phase: Phase = 'idle';
  #detail = '';
  #startSeq: number | null = null;
  #streamFirstSeq: number | null = null;
  #replayTo: number | null = null;
  #lastSeq: number | null = null;
  #version = 0;
  #matchedTo: number | null = null;
  #scheduled = false;
  #snapshot: LiveSnapshot | null = null;
  /**
   * Called with each live (not replayed) event that changes who may sign; the next envelope is
   * verified only once it settles, so one signed after a revocation meets the new trust. Replayed
   * ones need nothing: the bundle fetched at connect is newer than all of them, and revocation
   * is by stream sequence.
   */
  onIdentityEvent: ((e: LiveEvent) => Promise<void>) | null = null;

  setTrust(trust: WebTrustStore): void {
    this.#trust = trust;
  }

  setPhase(phase: Phase, detail = ''): void {
    this.#phase = phase;
    this.#detail = detail;
    this.#changed();
  }

  setReplayRange(streamFirstSeq: number, startSeq: number, replayTo: number): void {
    this.#streamFirstSeq = streamFirstSeq;
    this.#startSeq = startSeq;
    this.#replayTo = replayTo;
    this.#changed();
  }

  /** Verifies and folds one stored message (call in stream order, one at a time). */
  async ingest(message: StoredMessage): Promise<void> {
    await this.commit(await this.prepare(message));
  }

  /**
   * The costly, order-free part of taking a message in: its chain digest and its verdict (the
   * signature through WebCrypto). Several may run at once; `commit` them in stream order.
   */
  async prepare(message: StoredMessage): Promise<Prepared> {
    const trust = this.#trust;
    if (trust === null)
      throw new Error('no trust store: the page verifies nothing without the root');
    const [digest, verdict] = await Promise.all([
      entryDigestWeb(message.data),
      verdictOf(message.data, trust, {
        natsSubject: message.subject,
        streamSeq: message.seq,
        ...(message.typeHeader !== undefined ? { typeHeader: message.typeHeader } : {}),
      }),
    ]);
    return { message, digest, verdict, trust };
  }

  /** Folds (or refuses) one prepared message; call in stream order, one at a time. */
  async commit(prepared: Prepared): Promise<void> {
    // Verified under a trust that has since changed (a live revocation): verify again.
    const p = prepared.trust === this.#trust ? prepared : await this.prepare(prepared.message);
    const { message, digest, verdict } = p;
    const { subject, seq, data } = message;
    this.#chain.add(seq, digest);
    this.#lastSeq = seq;
    if (verdict.ok) {
      const { event, envelope, signer } = verdict.event;
      const seen: LiveEvent = {
        seq,
        natsSubject: subject,
        event,
        signer,
        envelope,
        size: data.length,
      };
      this.#dashboard = foldDashboard(this.#dashboard, seen);
      this.#events.push(seen);
      if (this.#events.length > MAX_EVENTS) {
        this.#events.splice(0, this.#events.length - MAX_EVENTS);
      }
      if (event.type === 'audit.checkpoint.sealed') await this.#checkSeal(seen);
      if (event.type.startsWith('identity.') && this.#phase === 'live') {
        await this.onIdentityEvent?.(seen);
      }
    } else {
      this.#refused.push({
        seq,
        natsSubject: subject,
        code: verdict.code,
        message: verdict.message,
        claims: verdict.claims,
        size: data.length,
        claimed: claimedEvent(data),
      });
      if (this.#refused.length > MAX_REFUSED) {
        this.#refused.splice(0, this.#refused.length - MAX_REFUSED);
      }
    }
    if (this.#phase === 'replaying' && this.#replayTo !== null && seq >= this.#replayTo) {
      this.#phase = 'live';
      this.#detail = '';
    }
    this.#changed();
  }

  async #checkSeal(e: LiveEvent): Promise<void> {
    const check = await checkSeal(
      e.event.data as Parameters<typeof checkSeal>[0],
      e.seq,
      this.#chain,
      { entryDigest: entryDigestWeb, linkHead: linkHeadWeb },
    );
    this.#seals.push(check);
    // Digests are kept through one checked seal back: enough to check the next seal, and a
    // second seal over the newest range, without one digest per entry ever read.
    if (check.status === 'matches') {
      if (this.#matchedTo !== null) this.#chain.forgetThrough(this.#matchedTo);
      this.#matchedTo = check.toSeq;
    }
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    listener(this.snapshot());
    return () => this.#listeners.delete(listener);
  }

  snapshot(): LiveSnapshot {
    this.#snapshot ??= {
      phase: this.#phase,
      detail: this.#detail,
      startSeq: this.#startSeq,
      streamFirstSeq: this.#streamFirstSeq,
      replayTo: this.#replayTo,
      lastSeq: this.#lastSeq,
      dashboard: this.#dashboard,
      events: this.#events,
      refused: this.#refused,
      seals: this.#seals,
      coverage: coverageOf(this.#chain.firstSeq, this.#chain.lastSeq, this.#seals),
      version: this.#version,
    };
    return this.#snapshot;
  }

  // Renders at most once a frame however fast the stream flows.
  #changed(): void {
    this.#version += 1;
    this.#snapshot = null;
    if (this.#scheduled) return;
    this.#scheduled = true;
    const flush = () => {
      this.#scheduled = false;
      const snapshot = this.snapshot();
      for (const listener of this.#listeners) listener(snapshot);
    };
    if (nextFrame) nextFrame(flush);
    else setTimeout(flush, 16);
  }
}

/** The CloudEvent a refused envelope claims to carry, read without trusting it. */
function claimedEvent(bytes: Uint8Array): CloudEvent | null {
  try {
    return decodePayloadWeb(parseEnvelope(bytes));
  } catch {
    return null;
  }
}

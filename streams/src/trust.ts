import type { KV } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  loadTrustStore,
  type MemoryTrustStore,
  type Revocation,
  type TrustBundle,
  type TrustStore,
  type TrustedKey,
} from '@secai/contracts';
import { KV_BUCKETS } from './definitions.js';
import { StreamError } from './errors.js';

export const TRUST_KEY = 'bundle';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Publishes the trust bundle (the appliance does this at boot and on every revocation). */
export async function publishTrustBundle(kv: KV, bundle: TrustBundle): Promise<number> {
  return kv.put(TRUST_KEY, encoder.encode(JSON.stringify(bundle)));
}

/**
 * A verifier's cached view of the trust bundle in KV, kept current by a watch. Every bundle is
 * checked against the pinned root before it replaces the current one, so whoever can write the
 * bucket still cannot introduce a new root; a bundle that fails the check is ignored and the
 * previous one stays in force.
 */
export class TrustCache implements TrustStore {
  #current: MemoryTrustStore;
  #stop: (() => void) | undefined;
  readonly #pinnedRootKeyid: string;
  onError: (err: unknown) => void = () => {};

  private constructor(initial: MemoryTrustStore, pinnedRootKeyid: string) {
    this.#current = initial;
    this.#pinnedRootKeyid = pinnedRootKeyid;
  }

  /** Opens the trust bucket, loads the bundle and starts watching it. */
  static async open(
    nc: NatsConnection,
    pinnedRootKeyid: string,
    options: { bucket?: string; now?: () => Date } = {},
  ): Promise<TrustCache> {
    const kv = await new Kvm(nc).open(options.bucket ?? KV_BUCKETS.trust);
    const entry = await kv.get(TRUST_KEY);
    if (!entry || entry.length === 0) {
      throw new StreamError(
        'TRUST_UNAVAILABLE',
        'no trust bundle is published yet (has the appliance booted?)',
      );
    }
    const now = options.now ?? (() => new Date());
    const store = await checkedStore(entry.value, pinnedRootKeyid, now());
    const cache = new TrustCache(store, pinnedRootKeyid);
    const watch = await kv.watch({ key: TRUST_KEY, include: 'updates' as never });
    cache.#stop = () => watch.stop();
    void (async () => {
      for await (const e of watch) {
        if (e.operation !== 'PUT') continue;
        try {
          cache.#current = await checkedStore(e.value, cache.#pinnedRootKeyid, now());
        } catch (err) {
          cache.onError(err);
        }
      }
    })();
    return cache;
  }

  /** A cache over a fixed store (tests, offline bundle verification). */
  static fixed(store: MemoryTrustStore): TrustCache {
    return new TrustCache(store, store.rootKeyid);
  }

  lookup(keyid: string): TrustedKey | undefined {
    return this.#current.lookup(keyid);
  }

  revocation(keyid: string): Revocation | undefined {
    return this.#current.revocation(keyid);
  }

  get bundle(): TrustBundle {
    return this.#current.bundle;
  }

  close(): void {
    this.#stop?.();
  }
}

async function checkedStore(
  value: Uint8Array,
  pinnedRootKeyid: string,
  now: Date,
): Promise<MemoryTrustStore> {
  const bundle = JSON.parse(decoder.decode(value)) as TrustBundle;
  const store = await loadTrustStore(bundle, { now });
  if (store.rootKeyid !== pinnedRootKeyid) {
    throw new StreamError(
      'TRUST_UNAVAILABLE',
      `trust bundle root ${store.rootKeyid} is not the pinned root ${pinnedRootKeyid}`,
    );
  }
  return store;
}

import type { TrustBundle } from '@secai/contracts';
import { EVENTS_STREAM, inboxPrefixOf, loadNatsUser, readRuntimeInfo } from '@secai/streams';
import { UiError } from './errors.js';

// What a logged-in page needs to read the bus itself (issue 14 §1): the websocket listener boot
// wrote into runtime.json, the read-only `dashboard` identity's seed, and the trust bundle with
// the pinned root keyid (the page trusts nothing but that root).

export interface BusCredentials {
  websocketUrl: string;
  user: 'dashboard';
  seed: string;
  inboxPrefix: string;
  stream: string;
  rootCertificatePem: string;
  rootKeyid: string;
  trustBundle: TrustBundle;
}

const WEBSOCKET_URL = /^wss?:\/\/[A-Za-z0-9.[\]:-]+\/?$/;
/** How long a read of runtime.json is reused (every response's CSP names the URL). */
const RUNTIME_CACHE_MS = 2_000;

export interface BusSourceOptions {
  stateDir: string;
  /** The keyid of this appliance's root as pinned in its state dir (`pinnedRootKeyid`). */
  rootKeyid: string;
  /** The current trust bundle (the service's trust cache follows the KV bucket). */
  trustBundle: () => TrustBundle;
  /** What boot put in the environment (`SECAI_NATS_WEBSOCKET_URL`), when runtime.json says nothing. */
  fallbackWebsocketUrl?: string | null;
  now?: () => number;
}

export class BusSource {
  readonly #options: BusSourceOptions;
  #cached: { at: number; url: string | null } | null = null;

  constructor(options: BusSourceOptions) {
    this.#options = options;
  }

  /**
   * The websocket URL boot recorded, or null: runtime.json may be absent, older (no field) or
   * hold anything; only a ws(s) URL counts.
   */
  async websocketUrl(): Promise<string | null> {
    const now = (this.#options.now ?? Date.now)();
    if (this.#cached && now - this.#cached.at < RUNTIME_CACHE_MS) return this.#cached.url;
    const info = (await readRuntimeInfo(this.#options.stateDir)) as Record<string, unknown> | null;
    const raw = info?.natsWebsocketUrl ?? this.#options.fallbackWebsocketUrl;
    const url = typeof raw === 'string' && WEBSOCKET_URL.test(raw) ? raw.replace(/\/$/, '') : null;
    this.#cached = { at: now, url };
    return url;
  }

  /** The last URL read, without reading (for headers of a request that did not wait). */
  get lastWebsocketUrl(): string | null {
    return this.#cached?.url ?? null;
  }

  async credentials(): Promise<BusCredentials> {
    const websocketUrl = await this.websocketUrl();
    if (websocketUrl === null)
      throw new UiError(
        'BUS_UNAVAILABLE',
        'the bus has no websocket listener recorded in runtime.json (is secai boot running?)',
        { retryAfterSeconds: 5 },
      );
    let seed: string;
    try {
      const user = await loadNatsUser(this.#options.stateDir, 'dashboard');
      seed = new TextDecoder().decode(user.seed).trim();
    } catch (cause) {
      throw new UiError('BUS_UNAVAILABLE', 'the dashboard identity has no usable credentials', {
        cause,
        retryAfterSeconds: 5,
      });
    }
    const trustBundle = this.#options.trustBundle();
    return {
      websocketUrl,
      user: 'dashboard',
      seed,
      inboxPrefix: inboxPrefixOf('dashboard'),
      stream: EVENTS_STREAM,
      rootCertificatePem: trustBundle.root,
      rootKeyid: this.#options.rootKeyid,
      trustBundle,
    };
  }
}

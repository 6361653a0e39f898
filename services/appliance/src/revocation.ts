import { loadTrustBundle, saveTrustBundle, type TrustBundle } from '@secai/contracts';
import {
  connectAs,
  type EventStore,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
  type NatsUser,
} from '@secai/streams';
import { hasUnrevokedCertificate } from './busUsers.js';
import { ApplianceError } from './errors.js';
import type { NatsBus } from './natsBus.js';
import { revokeIdentity } from './revoke.js';

export interface RevocationDeps {
  stateDir: string;
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** Signs as the appliance. */
  store: EventStore;
  /** The appliance's own server; null when booted on an external `natsUrl`. */
  bus: NatsBus | null;
  natsUrl: string;
  /** Every identity's NATS user (the state dir's seeds). */
  users: readonly NatsUser[];
  /** The bundle the bus config is rendered from; a revocation replaces it before a reload. */
  setBundle: (bundle: TrustBundle) => void;
  log: Logger;
}

export interface RevocationOutcome {
  /** Certificate and NATS access were both already gone before this request. */
  alreadyDone: boolean;
}

/**
 * Revokes a service while the appliance runs: its certificate (state dir, trust bundle in KV)
 * and, at once, its NATS user (config without it, SIGHUP, confirmed by a refused connection);
 * then `identity.revoked`. Idempotent: a revoked certificate is left as it is and only the bus
 * access is checked again. One revocation at a time.
 */
export class Revoker {
  readonly #deps: RevocationDeps;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: RevocationDeps) {
    this.#deps = deps;
  }

  revoke(request: { service: string; reason: string; now: Date }): Promise<RevocationOutcome> {
    const run = this.#queue.then(() => this.#revoke(request));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #revoke(request: {
    service: string;
    reason: string;
    now: Date;
  }): Promise<RevocationOutcome> {
    const d = this.#deps;
    if (request.service === d.store.signer.service)
      throw new ApplianceError(
        'REVOCATION_REFUSED',
        `the ${request.service} identity signs revocations and holds the bus: it cannot revoke itself`,
      );
    const bundle = await loadTrustBundle(d.stateDir);
    const certificateRevoked = !hasUnrevokedCertificate(bundle, request.service);
    if (certificateRevoked) {
      // Revoked earlier (or by `secai identity revoke` without an appliance): make sure the bus
      // agrees, which also repairs a revocation whose reload failed.
      const user = d.users.find((u) => u.name === request.service);
      if (d.bus !== null && user && (await refusedBy(d.bus.url, user)))
        return { alreadyDone: true };
      await this.#closeBusAccess(request.service, bundle);
      return { alreadyDone: false };
    }
    await revokeIdentity(d.nc, d.jsm, d.store, bundle, {
      service: request.service,
      reason: request.reason,
      now: request.now,
      persist: (next) => saveTrustBundle(d.stateDir, next),
      closeBusAccess: (next) => this.#closeBusAccess(request.service, next),
    });
    return { alreadyDone: false };
  }

  async #closeBusAccess(service: string, bundle: TrustBundle): Promise<void> {
    const d = this.#deps;
    if (d.bus === null)
      throw new ApplianceError(
        'BUS_ACCESS_UNMANAGED',
        `the bus at ${d.natsUrl} is an external deployment: remove ${service}'s NATS user there (the appliance cannot)`,
      );
    d.setBundle(bundle);
    await d.bus.reconfigure();
    const user = d.users.find((u) => u.name === service);
    if (user && !(await refusedBy(d.bus.url, user)))
      throw new ApplianceError(
        'BUS_ACCESS_NOT_REVOKED',
        `the server still accepts ${service}'s NATS user after the reload`,
      );
    d.log.warn(
      { service },
      'NATS access revoked: the server refuses its user and closed its connections',
    );
  }
}

/**
 * Whether the server refuses a fresh connection as `user` (true) or accepts it (false); a bus
 * that cannot be reached proves nothing either way and is an error.
 */
async function refusedBy(url: string, user: NatsUser): Promise<boolean> {
  let nc: NatsConnection;
  try {
    nc = await connectAs({
      url,
      user,
      timeoutMs: 5_000,
      name: `secai-revocation-check-${user.name}`,
    });
  } catch (err) {
    if (/authoriz|authentic/i.test(describe(err))) return true;
    throw new ApplianceError(
      'BUS_ACCESS_NOT_REVOKED',
      `could not ask the server whether it refuses ${user.name}: ${describe(err)}`,
      { cause: err },
    );
  }
  await nc.close().catch(() => undefined);
  return false;
}

function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, i = 0; e instanceof Error && i < 4; e = e.cause, i++)
    parts.push(`${e.name}: ${e.message}`);
  return parts.join(' <- ') || String(err);
}

import { Kvm } from '@nats-io/kv';
import { withRevocation, type TrustBundle } from '@secai/contracts';
import {
  KV_BUCKETS,
  publishTrustBundle,
  streamBounds,
  type EventStore,
  type JetStreamManager,
  type NatsConnection,
} from '@secai/streams';
import { ApplianceError } from './errors.js';

export interface RevokeRequest {
  service: string;
  reason: string;
  now: Date;
  /**
   * Persists the new bundle (the state dir) before anything is published: boot republishes the
   * stored bundle, so a crash mid-way must not leave the key trusted again.
   */
  persist: (bundle: TrustBundle) => Promise<void>;
  /**
   * Takes the identity's NATS access away (the appliance's bus: config without its user,
   * reloaded, confirmed), after the trust bundle and before the event, so `identity.revoked`
   * is appended once the revoked user can no longer publish. When it fails the event is still
   * appended (the certificate is revoked: that is a fact every verifier acts on) and the
   * revocation ends in `BUS_ACCESS_NOT_REVOKED`.
   */
  closeBusAccess?: (bundle: TrustBundle) => Promise<void>;
}

export interface RevokeResult {
  keyid: string;
  effectiveFromSeq: number;
  eventSeq: number;
  bundle: TrustBundle;
}

/**
 * Revokes a service certificate. Order matters, and fails closed: first the state dir, then the trust bundle in KV
 * (every verifier's cache refuses the key from the next stream sequence on), then the
 * `identity.revoked` event that records it. History signed before the cut-off stays valid; any
 * event of that key at or after `effectiveFromSeq` is refused everywhere, on replay too.
 */
export async function revokeIdentity(
  nc: NatsConnection,
  jsm: JetStreamManager,
  store: EventStore,
  bundle: TrustBundle,
  request: RevokeRequest,
): Promise<RevokeResult> {
  if (request.service === store.signer.service) {
    throw new ApplianceError(
      'REVOCATION_REFUSED',
      `the ${request.service} identity signs revocations and cannot revoke itself`,
    );
  }
  const revoked = new Set(bundle.revocations.map((r) => r.keyid));
  const current = bundle.certificates
    .filter((c) => c.service === request.service && !revoked.has(c.keyid))
    .pop();
  if (!current) {
    throw new ApplianceError(
      'REVOCATION_REFUSED',
      `${request.service} has no unrevoked certificate in the trust bundle`,
    );
  }
  const { lastSeq } = await streamBounds(jsm, store.stream);
  const effectiveFromSeq = lastSeq + 1;
  const next = withRevocation(bundle, {
    keyid: current.keyid,
    reason: request.reason,
    revokedAt: request.now.toISOString(),
    effectiveFromSeq,
  });
  await request.persist(next);
  const kv = await new Kvm(nc).open(KV_BUCKETS.trust);
  await publishTrustBundle(kv, next);
  const busFailure = request.closeBusAccess
    ? await request.closeBusAccess(next).then(
        () => null,
        (err: unknown) => err,
      )
    : null;
  const { lastSequence } = await store.append(
    [
      {
        type: 'identity.revoked',
        aggregateId: request.service,
        data: {
          service: request.service as never,
          keyid: current.keyid,
          reason: request.reason,
          effectiveFromSeq,
        },
      },
    ],
    { expectedSequence: 'any' },
  );
  if (busFailure !== null)
    throw new ApplianceError(
      'BUS_ACCESS_NOT_REVOKED',
      `${request.service}'s certificate is revoked (identity.revoked at seq ${lastSequence}) but its NATS access is not: ${(busFailure as Error).message}`,
      { cause: busFailure },
    );
  return { keyid: current.keyid, effectiveFromSeq, eventSeq: lastSequence, bundle: next };
}

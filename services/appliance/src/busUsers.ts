import type { TrustBundle } from '@secai/contracts';
import type { NatsUser } from '@secai/streams';

/** The NATS user of the server's system account (the warden's `CONNZ` questions only). */
export const SYSTEM_USER = 'system';

/**
 * Identities that may hold a NATS user: `dashboard` (it signs nothing) and every service with an
 * unrevoked certificate. A service whose every certificate is revoked gets no user, so the
 * server refuses it as well as every verifier does. Pure: the bundle is the state dir's.
 */
export function activeNatsUsers(users: readonly NatsUser[], bundle: TrustBundle): NatsUser[] {
  const revokedKeys = new Set(bundle.revocations.map((r) => r.keyid));
  const signing = new Set(
    bundle.certificates.filter((c) => !revokedKeys.has(c.keyid)).map((c) => c.service),
  );
  return users.filter((u) => u.name === 'dashboard' || signing.has(u.name));
}

/** Whether `service` still has a certificate that is not revoked. */
export function hasUnrevokedCertificate(bundle: TrustBundle, service: string): boolean {
  const revokedKeys = new Set(bundle.revocations.map((r) => r.keyid));
  return bundle.certificates.some((c) => c.service === service && !revokedKeys.has(c.keyid));
}

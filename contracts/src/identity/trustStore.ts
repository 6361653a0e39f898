import type { Revocation, TrustedKey, TrustStore } from '../envelope/trust.js';
import type { TrustBundle } from './bundle.js';
import {
  checkBundleVersion,
  checkRootCertificate,
  checkServiceCertificate,
  checkUniqueKeyids,
  indexRevocations,
} from './certificateRules.js';
import {
  keyidOf,
  parseCertificate,
  publicKeyOf,
  type RootIdentity,
  type ServiceIdentity,
} from './pki.js';

/**
 * Trust material checked once and held in maps, so the verifier's lookups are synchronous and
 * cheap. Build it with `loadTrustStore`; a new bundle (rotation, revocation) means a new store.
 */
export class MemoryTrustStore implements TrustStore {
  readonly bundle: TrustBundle;
  readonly rootKeyid: string;
  readonly #keys: ReadonlyMap<string, TrustedKey>;
  readonly #revocations: ReadonlyMap<string, Revocation>;

  constructor(bundle: TrustBundle, rootKeyid: string, keys: readonly TrustedKey[]) {
    this.bundle = bundle;
    this.rootKeyid = rootKeyid;
    this.#keys = new Map(keys.map((key) => [key.keyid, Object.freeze({ ...key })]));
    this.#revocations = indexRevocations(bundle.revocations);
  }

  lookup(keyid: string): TrustedKey | undefined {
    return this.#keys.get(keyid);
  }

  revocation(keyid: string): Revocation | undefined {
    return this.#revocations.get(keyid);
  }

  /** Every service with at least one certificate in the bundle, sorted. */
  services(): string[] {
    return [...new Set([...this.#keys.values()].map((key) => key.service))].sort();
  }
}

/**
 * Checks a trust bundle and builds the store verifiers use: the root is a self-signed CA valid at
 * `now`; every certificate was issued and signed by it, is valid at `now`, names its bundle
 * service in a `secai://` SAN URI, and has the keyid the bundle says. Any failure throws an
 * `IdentityError` naming the service: a bundle is trusted whole or not at all. The checks live in
 * certificateRules.ts, shared with the browser's `loadWebTrustStore`.
 */
export async function loadTrustStore(
  bundle: TrustBundle,
  { now }: { now: Date },
): Promise<MemoryTrustStore> {
  checkBundleVersion(bundle);
  const root = parseCertificate(bundle.root, 'root');
  const rootKeyid = keyidOf(bundle.root);
  await checkRootCertificate(root, now);

  const keys: TrustedKey[] = [];
  for (const entry of bundle.certificates) {
    const certificate = parseCertificate(entry.pem, entry.service);
    await checkServiceCertificate(entry, certificate, keyidOf(entry.pem), root, now);
    keys.push({
      keyid: entry.keyid,
      service: entry.service,
      publicKey: publicKeyOf(certificate, entry.service),
      notBefore: certificate.notBefore,
      notAfter: certificate.notAfter,
    });
  }
  checkUniqueKeyids(keys);
  return new MemoryTrustStore(bundle, rootKeyid, keys);
}

/** The bundle for a root and its service identities, with no revocations yet. */
export function buildTrustBundle(
  root: Pick<RootIdentity, 'certificatePem'>,
  identities: Iterable<Pick<ServiceIdentity, 'service' | 'keyid' | 'certificatePem'>>,
): TrustBundle {
  return {
    version: 1,
    root: root.certificatePem,
    certificates: [...identities].map(({ service, keyid, certificatePem }) => ({
      service,
      keyid,
      pem: certificatePem,
    })),
    revocations: [],
  };
}

/**
 * A copy of `bundle` with `revocation` added. Revoking a key that is already revoked keeps the
 * first revocation, so replaying the same revocation changes nothing.
 */
export function withRevocation(bundle: TrustBundle, revocation: Revocation): TrustBundle {
  const revoked = bundle.revocations.some((known) => known.keyid === revocation.keyid);
  return {
    ...bundle,
    certificates: [...bundle.certificates],
    revocations: revoked ? [...bundle.revocations] : [...bundle.revocations, { ...revocation }],
  };
}

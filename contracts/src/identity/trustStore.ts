import type { Revocation, TrustedKey, TrustStore } from '../envelope/trust.js';
import type { TrustBundle, TrustBundleCertificate } from './bundle.js';
import { IdentityError } from './errors.js';
import {
  keyidOf,
  parseCertificate,
  publicKeyOf,
  servicesOf,
  x509,
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
    const revocations = new Map<string, Revocation>();
    for (const revocation of bundle.revocations) {
      const known = revocations.get(revocation.keyid);
      // Should a key be revoked twice, the earlier cut-off wins.
      if (!known || revocation.effectiveFromSeq < known.effectiveFromSeq) {
        revocations.set(revocation.keyid, revocation);
      }
    }
    this.#revocations = revocations;
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
 * `IdentityError` naming the service: a bundle is trusted whole or not at all.
 */
export async function loadTrustStore(
  bundle: TrustBundle,
  { now }: { now: Date },
): Promise<MemoryTrustStore> {
  if (bundle.version !== 1) {
    throw new IdentityError('IDENTITY_CORRUPT', `trust bundle version ${String(bundle.version)}`);
  }
  const root = parseCertificate(bundle.root, 'root');
  const rootKeyid = keyidOf(bundle.root);
  const constraints = root.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca || !(await root.isSelfSigned())) {
    throw new IdentityError('CERT_CHAIN_INVALID', 'root: not a self-signed CA certificate');
  }
  checkValidity(root, now, 'root');

  const keys: TrustedKey[] = [];
  for (const entry of bundle.certificates) {
    keys.push(await checkServiceCertificate(entry, root, now));
  }
  const seen = new Set<string>();
  for (const { keyid, service } of keys) {
    if (seen.has(keyid)) {
      throw new IdentityError('IDENTITY_CORRUPT', `${service}: keyid ${keyid} appears twice`);
    }
    seen.add(keyid);
  }
  return new MemoryTrustStore(bundle, rootKeyid, keys);
}

async function checkServiceCertificate(
  entry: TrustBundleCertificate,
  root: x509.X509Certificate,
  now: Date,
): Promise<TrustedKey> {
  const { service } = entry;
  const certificate = parseCertificate(entry.pem, service);
  const keyid = keyidOf(entry.pem);
  if (keyid !== entry.keyid) {
    throw new IdentityError(
      'IDENTITY_CORRUPT',
      `${service}: bundle keyid ${entry.keyid} is not the certificate's (${keyid})`,
    );
  }
  const sameIssuer = Buffer.from(certificate.issuerName.toArrayBuffer()).equals(
    Buffer.from(root.subjectName.toArrayBuffer()),
  );
  if (!sameIssuer || !(await certificate.verify({ publicKey: root, signatureOnly: true }))) {
    throw new IdentityError(
      'CERT_CHAIN_INVALID',
      `${service}: certificate was not issued by the appliance root`,
    );
  }
  if (certificate.getExtension(x509.BasicConstraintsExtension)?.ca) {
    throw new IdentityError(
      'CERT_CHAIN_INVALID',
      `${service}: a service certificate may not be a CA`,
    );
  }
  checkValidity(certificate, now, service);
  if (!servicesOf(certificate).includes(service)) {
    throw new IdentityError(
      'CERT_SERVICE_MISSING',
      `${service}: certificate does not name secai://${service}`,
    );
  }
  return {
    keyid,
    service,
    publicKey: publicKeyOf(certificate, service),
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
  };
}

function checkValidity(certificate: x509.X509Certificate, now: Date, owner: string): void {
  if (now < certificate.notBefore) {
    throw new IdentityError(
      'CERT_NOT_YET_VALID',
      `${owner}: certificate is valid from ${certificate.notBefore.toISOString()}`,
    );
  }
  if (now > certificate.notAfter) {
    throw new IdentityError(
      'CERT_EXPIRED',
      `${owner}: certificate expired at ${certificate.notAfter.toISOString()}`,
    );
  }
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

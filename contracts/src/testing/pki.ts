import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Signer } from '../envelope/types.js';
import type { TrustBundle, TrustBundleCertificate } from '../identity/bundle.js';
import { IdentityError } from '../identity/errors.js';
import {
  createRoot,
  issueServiceIdentity,
  type RootIdentity,
  type ServiceIdentity,
} from '../identity/pki.js';
import { createSigner } from '../identity/signer.js';
import { buildTrustBundle, loadTrustStore, type MemoryTrustStore } from '../identity/trustStore.js';
import { SERVICES } from '../services.js';

/**
 * Test certificates start here and last a century, so events stamped with any plausible test
 * time (fixed dates or the real clock) fall inside their validity.
 */
export const TEST_PKI_EPOCH = new Date('2000-01-01T00:00:00.000Z');
const TEST_VALIDITY_DAYS = 36_500;

export interface TestPki {
  root: RootIdentity;
  identities: Map<string, ServiceIdentity>;
  signers: Map<string, Signer>;
  signerFor(service: string): Signer;
  bundle: TrustBundle;
  trust: MemoryTrustStore;
}

export interface TestPkiOptions {
  /** Start of validity of every certificate (default `TEST_PKI_EPOCH`). */
  now?: Date;
  validityDays?: number;
}

const cache = new Map<string, Promise<TestPki>>();

/**
 * A root, one identity and signer per service, the bundle and a loaded trust store. Key
 * generation costs time, so results are shared per services list and options: treat them as
 * read-only.
 */
export function createTestPki(
  services: readonly string[] = SERVICES,
  options: TestPkiOptions = {},
): Promise<TestPki> {
  const now = options.now ?? TEST_PKI_EPOCH;
  const validityDays = options.validityDays ?? TEST_VALIDITY_DAYS;
  const key = `${services.join(',')}|${now.toISOString()}|${validityDays}`;
  let pki = cache.get(key);
  if (!pki) {
    pki = buildTestPki(services, now, validityDays);
    cache.set(key, pki);
    // A failure is not cached: the next caller tries again and sees the error itself.
    pki.catch(() => cache.delete(key));
  }
  return pki;
}

async function buildTestPki(
  services: readonly string[],
  now: Date,
  validityDays: number,
): Promise<TestPki> {
  const root = await createRoot({ now, validityDays, name: 'SecAI Test Root CA' });
  const identities = new Map<string, ServiceIdentity>();
  const signers = new Map<string, Signer>();
  for (const service of new Set(services)) {
    const identity = await issueServiceIdentity(root, service, { now, validityDays });
    identities.set(service, identity);
    signers.set(service, createSigner(identity));
  }
  const bundle = buildTrustBundle(root, identities.values());
  // Loaded at the start of validity, so the store does not depend on the real clock.
  const trust = await loadTrustStore(bundle, { now });
  return {
    root,
    identities,
    signers,
    signerFor(service) {
      const signer = signers.get(service);
      if (!signer) {
        throw new IdentityError('CERT_SERVICE_MISSING', `${service}: not in this test PKI`);
      }
      return signer;
    },
    bundle,
    trust,
  };
}

/** A signer with a fresh key and a random keyid that no trust store knows. */
export function createRogueSigner(service: string): Signer {
  const { privateKey } = generateKeyPairSync('ed25519');
  return createSigner({ service, keyid: randomBytes(32).toString('hex'), privateKey });
}

export interface OutsiderPki {
  /** The other root (not the appliance's). */
  root: RootIdentity;
  identity: ServiceIdentity;
  signer: Signer;
  /** The outsider's certificate as a bundle entry, to smuggle into a real bundle. */
  certificate: TrustBundleCertificate;
}

/** A well-formed identity for `service` whose certificate was issued by a different root. */
export async function createOutsiderPki(
  service: string,
  options: TestPkiOptions = {},
): Promise<OutsiderPki> {
  const now = options.now ?? TEST_PKI_EPOCH;
  const validityDays = options.validityDays ?? TEST_VALIDITY_DAYS;
  const root = await createRoot({ now, validityDays, name: 'SecAI Test Root CA' });
  const identity = await issueServiceIdentity(root, service, { now, validityDays });
  return {
    root,
    identity,
    signer: createSigner(identity),
    certificate: { service, keyid: identity.keyid, pem: identity.certificatePem },
  };
}

import {
  certificateFromDer,
  checkBundleVersion,
  checkRootCertificate,
  checkServiceCertificate,
  checkUniqueKeyids,
  hexOf,
  indexRevocations,
  pemCertificateBody,
  x509,
} from '../identity/certificateRules.js';
import type { TrustBundle } from '../identity/bundle.js';
import { IdentityError } from '../identity/errors.js';
import type { Revocation } from '../envelope/revocation.js';
import { decodeBase64 } from '../envelope/rules.js';

// The page has WebCrypto and nothing else; Node 20 has the same object on globalThis.
x509.cryptoProvider.set(globalThis.crypto);

const ED25519 = { name: 'Ed25519' } as const;

/** A WebCrypto key (named through `subtle` so the node build needs no DOM types). */
export type WebCryptoKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>;

/** A service key whose certificate chains to the pinned root, as a WebCrypto key. */
export interface WebTrustedKey {
  keyid: string;
  service: string;
  publicKey: WebCryptoKey;
  notBefore: Date;
  notAfter: Date;
}

/** The browser's trust store: the same lookups as the node `MemoryTrustStore`. */
export class WebTrustStore {
  readonly bundle: TrustBundle;
  readonly rootKeyid: string;
  readonly #keys: ReadonlyMap<string, WebTrustedKey>;
  readonly #revocations: ReadonlyMap<string, Revocation>;

  constructor(bundle: TrustBundle, rootKeyid: string, keys: readonly WebTrustedKey[]) {
    this.bundle = bundle;
    this.rootKeyid = rootKeyid;
    this.#keys = new Map(keys.map((key) => [key.keyid, Object.freeze({ ...key })]));
    this.#revocations = indexRevocations(bundle.revocations);
  }

  lookup(keyid: string): WebTrustedKey | undefined {
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
 * Checks a trust bundle in the browser exactly as the node `loadTrustStore` does (the checks are
 * shared: identity/certificateRules.ts), and first that its root is the pinned one: the page
 * trusts nothing but the root whose keyid it was given. Throws `IdentityError`; a bundle is
 * trusted whole or not at all.
 */
export async function loadWebTrustStore(
  bundle: TrustBundle,
  { now, rootKeyid }: { now: Date; rootKeyid: string },
): Promise<WebTrustStore> {
  checkBundleVersion(bundle);
  const rootDer = derOf(bundle.root, 'root');
  const actualRootKeyid = await keyidOfDer(rootDer);
  if (actualRootKeyid !== rootKeyid) {
    throw new IdentityError(
      'CERT_CHAIN_INVALID',
      `root: keyid ${actualRootKeyid} is not the pinned root ${rootKeyid}`,
    );
  }
  const root = certificateFromDer(rootDer, 'root');
  await checkRootCertificate(root, now);

  const keys: WebTrustedKey[] = [];
  for (const entry of bundle.certificates) {
    const der = derOf(entry.pem, entry.service);
    const certificate = certificateFromDer(der, entry.service);
    await checkServiceCertificate(entry, certificate, await keyidOfDer(der), root, now);
    keys.push({
      keyid: entry.keyid,
      service: entry.service,
      publicKey: await importEd25519(certificate, entry.service),
      notBefore: certificate.notBefore,
      notAfter: certificate.notAfter,
    });
  }
  checkUniqueKeyids(keys);
  return new WebTrustStore(bundle, actualRootKeyid, keys);
}

/** The DER of a PEM certificate, decoded as node's Buffer decodes it (keyids must agree). */
function derOf(pem: string, owner: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(decodeBase64(pemCertificateBody(pem, owner)));
}

async function keyidOfDer(der: Uint8Array<ArrayBuffer>): Promise<string> {
  return hexOf(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', der)));
}

async function importEd25519(
  certificate: x509.X509Certificate,
  owner: string,
): Promise<WebCryptoKey> {
  // Importing as Ed25519 refuses any other key type (node's publicKeyOf checks the same).
  try {
    return await globalThis.crypto.subtle.importKey(
      'spki',
      certificate.publicKey.rawData,
      ED25519,
      false,
      ['verify'],
    );
  } catch (cause) {
    throw new IdentityError('IDENTITY_CORRUPT', `${owner}: unreadable public key`, { cause });
  }
}

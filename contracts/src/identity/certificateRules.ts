// @peculiar/x509 uses decorators that read metadata: the polyfill must load first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { serviceOfSource } from '../services.js';
import type { Revocation } from '../envelope/revocation.js';
import type { TrustBundle, TrustBundleCertificate } from './bundle.js';
import { IdentityError } from './errors.js';

/*
 * The trust-bundle checks that need only @peculiar/x509 (whose crypto provider the caller sets):
 * shared by the node `loadTrustStore` and the browser `loadWebTrustStore`, so a bundle one refuses
 * the other refuses too. No `node:*`, no Buffer: the browser bundle imports this file.
 */

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----/g;

export { x509 };

export function checkBundleVersion(bundle: TrustBundle): void {
  if (bundle.version !== 1) {
    throw new IdentityError('IDENTITY_CORRUPT', `trust bundle version ${String(bundle.version)}`);
  }
}

/** The base64 body of the single certificate in a PEM text (whitespace removed). */
export function pemCertificateBody(pem: string, owner = 'certificate'): string {
  const blocks = [...pem.matchAll(PEM_CERTIFICATE)];
  const body = blocks.length === 1 ? blocks[0]![1]!.replace(/\s+/g, '') : '';
  if (body === '') {
    throw new IdentityError('IDENTITY_CORRUPT', `${owner}: expected exactly one PEM certificate`);
  }
  return body;
}

/** Parses DER into a certificate, or refuses it as corrupt naming its owner. */
export function certificateFromDer(
  der: Uint8Array<ArrayBuffer>,
  owner: string,
): x509.X509Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (cause) {
    throw new IdentityError('IDENTITY_CORRUPT', `${owner}: certificate cannot be parsed`, {
      cause,
    });
  }
}

/** The root is a self-signed CA certificate valid at `now`. */
export async function checkRootCertificate(root: x509.X509Certificate, now: Date): Promise<void> {
  const constraints = root.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca || !(await root.isSelfSigned())) {
    throw new IdentityError('CERT_CHAIN_INVALID', 'root: not a self-signed CA certificate');
  }
  checkValidity(root, now, 'root');
}

/**
 * A service certificate has the keyid the bundle says (`keyid` is the caller's SHA-256 of its
 * DER), was issued and signed by the root, is no CA, is valid at `now` and names its service in a
 * `secai://` SAN URI.
 */
export async function checkServiceCertificate(
  entry: TrustBundleCertificate,
  certificate: x509.X509Certificate,
  keyid: string,
  root: x509.X509Certificate,
  now: Date,
): Promise<void> {
  const { service } = entry;
  if (keyid !== entry.keyid) {
    throw new IdentityError(
      'IDENTITY_CORRUPT',
      `${service}: bundle keyid ${entry.keyid} is not the certificate's (${keyid})`,
    );
  }
  const sameIssuer = sameBytes(
    new Uint8Array(certificate.issuerName.toArrayBuffer()),
    new Uint8Array(root.subjectName.toArrayBuffer()),
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
  if (!servicesNamedBy(certificate).includes(service)) {
    throw new IdentityError(
      'CERT_SERVICE_MISSING',
      `${service}: certificate does not name secai://${service}`,
    );
  }
}

/** A keyid appearing twice makes the whole bundle suspect. */
export function checkUniqueKeyids(keys: readonly { keyid: string; service: string }[]): void {
  const seen = new Set<string>();
  for (const { keyid, service } of keys) {
    if (seen.has(keyid)) {
      throw new IdentityError('IDENTITY_CORRUPT', `${service}: keyid ${keyid} appears twice`);
    }
    seen.add(keyid);
  }
}

export function checkValidity(certificate: x509.X509Certificate, now: Date, owner: string): void {
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

/** Services named by the certificate's `secai://<service>` SAN URIs. */
export function servicesNamedBy(certificate: x509.X509Certificate): string[] {
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) return [];
  return san.names.items
    .filter((name) => name.type === 'url')
    .map((name) => serviceOfSource(name.value))
    .filter((service): service is string => service !== null && service !== '');
}

/** The bundle's revocations by keyid; should a key be revoked twice, the earlier cut-off wins. */
export function indexRevocations(revocations: readonly Revocation[]): Map<string, Revocation> {
  const index = new Map<string, Revocation>();
  for (const revocation of revocations) {
    const known = index.get(revocation.keyid);
    if (!known || revocation.effectiveFromSeq < known.effectiveFromSeq) {
      index.set(revocation.keyid, revocation);
    }
  }
  return index;
}

/** Lowercase hex of bytes (keyids, chain heads). */
export function hexOf(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// @peculiar/x509 uses decorators that read metadata: the polyfill must load first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  createHash,
  createPublicKey,
  generateKeyPair as generateKeyPairCallback,
  randomBytes,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { ValidationError } from '../errors.js';
import { serviceOfSource, sourceOf } from '../services.js';
import { IdentityError } from './errors.js';

x509.cryptoProvider.set(webcrypto);

const generateKeyPair = promisify(generateKeyPairCallback);
const ED25519 = { name: 'Ed25519' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_ROOT_NAME = 'SecAI Appliance Root CA';
/** Service names become a URI host, a CN and a directory name: keep them boring. */
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----/g;

export interface RootIdentity {
  /** SHA-256 (hex) of the root certificate's DER. */
  keyid: string;
  certificatePem: string;
  privateKey: KeyObject;
  notAfter: Date;
}

export interface ServiceIdentity {
  service: string;
  /** SHA-256 (hex) of the certificate's DER: the `keyid` of every envelope it signs. */
  keyid: string;
  certificatePem: string;
  privateKey: KeyObject;
  notAfter: Date;
}

/** Creates the appliance root: a self-signed Ed25519 CA that only issues service certificates. */
export async function createRoot(options: {
  now: Date;
  validityDays?: number;
  name?: string;
}): Promise<RootIdentity> {
  const { now, validityDays = 3650, name = DEFAULT_ROOT_NAME } = options;
  const { publicKey, privateKey } = await generateKeyPair('ed25519');
  const keys = {
    publicKey: await toWebPublicKey(publicKey),
    privateKey: await toWebSigningKey(privateKey),
  };
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [name] }],
    notBefore: now,
    notAfter: addDays(now, validityDays),
    keys,
    signingAlgorithm: ED25519,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certificatePem = certificate.toString('pem');
  return {
    keyid: keyidOf(certificatePem),
    certificatePem,
    privateKey,
    notAfter: certificate.notAfter,
  };
}

/**
 * Issues a service certificate under `root`: a fresh Ed25519 key, CN and SAN URI naming the
 * service, end-entity only. Its validity never outlasts the root's.
 */
export async function issueServiceIdentity(
  root: RootIdentity,
  service: string,
  options: { now: Date; validityDays?: number },
): Promise<ServiceIdentity> {
  assertServiceName(service);
  const { now, validityDays = 825 } = options;
  const rootCertificate = parseCertificate(root.certificatePem, 'root');
  const { publicKey, privateKey } = await generateKeyPair('ed25519');
  const webPublicKey = await toWebPublicKey(publicKey);
  const requested = addDays(now, validityDays);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [service] }],
    issuer: rootCertificate.subjectName,
    notBefore: now,
    notAfter: requested > rootCertificate.notAfter ? rootCertificate.notAfter : requested,
    publicKey: webPublicKey,
    signingKey: await toWebSigningKey(root.privateKey),
    signingAlgorithm: ED25519,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: sourceOf(service) }]),
      await x509.SubjectKeyIdentifierExtension.create(webPublicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootCertificate.publicKey),
    ],
  });
  const certificatePem = certificate.toString('pem');
  return {
    service,
    keyid: keyidOf(certificatePem),
    certificatePem,
    privateKey,
    notAfter: certificate.notAfter,
  };
}

/** The `keyid` of a certificate: lowercase hex SHA-256 of its DER. */
export function keyidOf(certificatePem: string): string {
  return createHash('sha256').update(certificateDer(certificatePem)).digest('hex');
}

// ---- internal helpers (shared with trustStore.ts and store.ts, not re-exported) ----

/** DER of the single certificate in a PEM text. */
export function certificateDer(pem: string, owner = 'certificate'): Buffer {
  const blocks = [...pem.matchAll(PEM_CERTIFICATE)];
  const body = blocks.length === 1 ? blocks[0]![1]!.replace(/\s+/g, '') : '';
  if (body === '') {
    throw new IdentityError('IDENTITY_CORRUPT', `${owner}: expected exactly one PEM certificate`);
  }
  return Buffer.from(body, 'base64');
}

/** Parses the certificate whose bytes `keyidOf` hashes. */
export function parseCertificate(pem: string, owner: string): x509.X509Certificate {
  const der = certificateDer(pem, owner);
  try {
    return new x509.X509Certificate(der);
  } catch (cause) {
    throw new IdentityError('IDENTITY_CORRUPT', `${owner}: certificate cannot be parsed`, {
      cause,
    });
  }
}

/** The certificate's public key as a node KeyObject (Ed25519 only). */
export function publicKeyOf(certificate: x509.X509Certificate, owner: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: Buffer.from(certificate.publicKey.rawData),
      format: 'der',
      type: 'spki',
    });
  } catch (cause) {
    throw new IdentityError('IDENTITY_CORRUPT', `${owner}: unreadable public key`, { cause });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new IdentityError('IDENTITY_CORRUPT', `${owner}: key is not Ed25519`);
  }
  return key;
}

/** True when `privateKey` is the private half of the certificate's key. */
export function holdsKeyOf(certificate: x509.X509Certificate, privateKey: KeyObject): boolean {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return spki.equals(Buffer.from(certificate.publicKey.rawData));
}

/** Services named by the certificate's `secai://<service>` SAN URIs. */
export function servicesOf(certificate: x509.X509Certificate): string[] {
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) return [];
  return san.names.items
    .filter((name) => name.type === 'url')
    .map((name) => serviceOfSource(name.value))
    .filter((service): service is string => service !== null && service !== '');
}

export function assertServiceName(service: string): void {
  if (!SERVICE_NAME.test(service)) {
    throw new ValidationError(`invalid service name ${JSON.stringify(service)}`, ['service']);
  }
}

export { x509 };

async function toWebPublicKey(key: KeyObject): Promise<webcrypto.CryptoKey> {
  const spki = key.export({ format: 'der', type: 'spki' });
  return webcrypto.subtle.importKey('spki', spki, ED25519, true, ['verify']);
}

async function toWebSigningKey(key: KeyObject): Promise<webcrypto.CryptoKey> {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new IdentityError('IDENTITY_CORRUPT', 'signing key is not an Ed25519 private key');
  }
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', pkcs8, ED25519, false, ['sign']);
}

/** A positive 128-bit serial with a non-zero first byte (DER integers stay minimal). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x40 | (bytes[0]! & 0x3f);
  return bytes.toString('hex');
}

function addDays(date: Date, days: number): Date {
  if (!(days > 0)) throw new RangeError(`validityDays must be positive, got ${days}`);
  return new Date(date.getTime() + days * DAY_MS);
}

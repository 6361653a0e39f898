import { createPrivateKey, type KeyObject } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs.js';
import type { TrustBundle, TrustBundleCertificate } from './bundle.js';
import { IdentityError } from './errors.js';
import {
  assertServiceName,
  createRoot,
  holdsKeyOf,
  issueServiceIdentity,
  keyidOf,
  parseCertificate,
  type RootIdentity,
  type ServiceIdentity,
} from './pki.js';
import { buildTrustBundle } from './trustStore.js';

/*
 * Layout under the state dir (directories 0700, private keys 0600):
 *   identity/root/{cert.pem,key.pem}
 *   identity/services/<service>/{cert.pem,key.pem}
 *   identity/trust-bundle.json
 */
const CERT = 'cert.pem';
const KEY = 'key.pem';

function layout(stateDir: string) {
  const dir = join(stateDir, 'identity');
  return {
    dir,
    root: join(dir, 'root'),
    services: join(dir, 'services'),
    service: (service: string) => join(dir, 'services', service),
    bundle: join(dir, 'trust-bundle.json'),
  };
}

export interface EnsuredIdentities {
  /** True when this call created the root (first boot). */
  created: boolean;
  /** Service identities issued by this call (services seen for the first time). */
  issued: ServiceIdentity[];
  root: RootIdentity;
  bundle: TrustBundle;
}

/**
 * Makes sure the state dir holds a root and one identity per service: the first call creates
 * them, later calls load them and issue only what a newly added service lacks. The trust bundle
 * is kept in step (existing certificates and revocations are preserved). A state dir that has
 * service material but no root is refused rather than silently re-keyed.
 */
export async function ensureIdentities(
  stateDir: string,
  services: readonly string[],
  { now }: { now: Date },
): Promise<EnsuredIdentities> {
  services.forEach(assertServiceName);
  const paths = layout(stateDir);
  await ensureDirectory(paths.dir);
  await ensureDirectory(paths.root);
  await ensureDirectory(paths.services);

  let root = await readRoot(paths.root);
  const created = root === undefined;
  if (root === undefined) {
    if ((await exists(paths.bundle)) || (await hasServiceCertificates(paths.services))) {
      throw new IdentityError(
        'IDENTITY_CORRUPT',
        'root: identity is missing but service identities exist; refusing to create a new root',
      );
    }
    root = await createRoot({ now });
    await writeIdentity(paths.root, root);
  }
  const rootCertificate = parseCertificate(root.certificatePem, 'root');

  const issued: ServiceIdentity[] = [];
  const identities: ServiceIdentity[] = [];
  for (const service of new Set(services)) {
    let identity: ServiceIdentity;
    if (await exists(join(paths.service(service), CERT))) {
      identity = await loadServiceIdentity(stateDir, service);
      const certificate = parseCertificate(identity.certificatePem, service);
      if (!(await certificate.verify({ publicKey: rootCertificate, signatureOnly: true }))) {
        throw new IdentityError(
          'CERT_CHAIN_INVALID',
          `${service}: stored certificate was not issued by the stored root`,
        );
      }
    } else {
      identity = await issueServiceIdentity(root, service, { now });
      await ensureDirectory(paths.service(service));
      await writeIdentity(paths.service(service), identity);
      issued.push(identity);
    }
    identities.push(identity);
  }

  const existing = (await exists(paths.bundle)) ? await loadTrustBundle(stateDir) : undefined;
  if (existing && existing.root.trim() !== root.certificatePem.trim()) {
    throw new IdentityError('IDENTITY_CORRUPT', 'trust bundle belongs to another root');
  }
  const base = existing ?? buildTrustBundle(root, []);
  const missing = identities.filter(
    (identity) => !base.certificates.some((entry) => entry.keyid === identity.keyid),
  );
  const bundle: TrustBundle =
    missing.length === 0
      ? base
      : {
          ...base,
          certificates: [...base.certificates, ...buildTrustBundle(root, missing).certificates],
        };
  if (existing === undefined || missing.length > 0) await saveTrustBundle(stateDir, bundle);
  return { created, issued, root, bundle };
}

/** Loads one service's certificate and private key (the key must be readable by its owner only). */
export async function loadServiceIdentity(
  stateDir: string,
  service: string,
): Promise<ServiceIdentity> {
  assertServiceName(service);
  const dir = layout(stateDir).service(service);
  const certificatePem = await readText(join(dir, CERT), service);
  const privateKey = await readPrivateKey(join(dir, KEY), service);
  const certificate = parseCertificate(certificatePem, service);
  if (!holdsKeyOf(certificate, privateKey)) {
    throw new IdentityError('IDENTITY_CORRUPT', `${service}: key.pem does not match cert.pem`);
  }
  return {
    service,
    keyid: keyidOf(certificatePem),
    certificatePem,
    privateKey,
    notAfter: certificate.notAfter,
  };
}

export async function loadTrustBundle(stateDir: string): Promise<TrustBundle> {
  const text = await readText(layout(stateDir).bundle, 'trust bundle');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new IdentityError('IDENTITY_CORRUPT', 'trust bundle is not JSON', { cause });
  }
  if (!isTrustBundle(value)) {
    throw new IdentityError('IDENTITY_CORRUPT', 'trust bundle does not have the expected shape');
  }
  return value;
}

export async function saveTrustBundle(stateDir: string, bundle: TrustBundle): Promise<void> {
  const paths = layout(stateDir);
  await ensureDirectory(paths.dir);
  // Public material: certificates and revocations only.
  await writeFileAtomic(paths.bundle, `${JSON.stringify(bundle, null, 2)}\n`, 0o644);
}

// ---- edges ----

async function readRoot(dir: string): Promise<RootIdentity | undefined> {
  // A key without a certificate is a first boot that crashed half-way: start again.
  if (!(await exists(join(dir, CERT)))) return undefined;
  const certificatePem = await readText(join(dir, CERT), 'root');
  const privateKey = await readPrivateKey(join(dir, KEY), 'root');
  const certificate = parseCertificate(certificatePem, 'root');
  if (!holdsKeyOf(certificate, privateKey)) {
    throw new IdentityError('IDENTITY_CORRUPT', 'root: key.pem does not match cert.pem');
  }
  return {
    keyid: keyidOf(certificatePem),
    certificatePem,
    privateKey,
    notAfter: certificate.notAfter,
  };
}

/** Key first, certificate last: a certificate on disk always has its key beside it. */
async function writeIdentity(
  dir: string,
  identity: { certificatePem: string; privateKey: KeyObject },
): Promise<void> {
  const pem = identity.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  await writeFileAtomic(join(dir, KEY), pem, 0o600);
  await writeFileAtomic(join(dir, CERT), identity.certificatePem, 0o644);
}

async function readPrivateKey(path: string, owner: string): Promise<KeyObject> {
  const handle = await open(path, 'r').catch((cause: unknown) => {
    throw missingOr(cause, `${owner}: private key ${path} is missing`);
  });
  try {
    // Checked on the open file, so the mode read is the mode of the bytes read.
    const info = await handle.stat();
    if (!info.isFile())
      throw new IdentityError('IDENTITY_CORRUPT', `${owner}: ${path} is not a file`);
    if ((info.mode & 0o077) !== 0) {
      throw new IdentityError(
        'KEY_PERMISSIONS',
        `${owner}: ${path} has mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}; private keys must be 0600`,
      );
    }
    const pem = await handle.readFile('utf8');
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (cause) {
      throw new IdentityError('IDENTITY_CORRUPT', `${owner}: private key cannot be parsed`, {
        cause,
      });
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new IdentityError('IDENTITY_CORRUPT', `${owner}: private key is not Ed25519`);
    }
    return key;
  } finally {
    await handle.close();
  }
}

async function readText(path: string, owner: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw missingOr(cause, `${owner}: ${path} is missing`);
  }
}

function missingOr(cause: unknown, message: string): unknown {
  return (cause as NodeJS.ErrnoException).code === 'ENOENT'
    ? new IdentityError('IDENTITY_MISSING', message, { cause })
    : cause;
}

async function ensureDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

async function exists(path: string): Promise<boolean> {
  try {
    await (await open(path, 'r')).close();
    return true;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw cause;
  }
}

async function hasServiceCertificates(dir: string): Promise<boolean> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && (await exists(join(dir, entry.name, CERT)))) return true;
  }
  return false;
}

function isTrustBundle(value: unknown): value is TrustBundle {
  if (!isRecord(value) || value.version !== 1 || typeof value.root !== 'string') return false;
  const { certificates, revocations } = value;
  return (
    Array.isArray(certificates) &&
    certificates.every(isBundleCertificate) &&
    Array.isArray(revocations) &&
    revocations.every(
      (r) =>
        isRecord(r) &&
        typeof r.keyid === 'string' &&
        typeof r.reason === 'string' &&
        typeof r.revokedAt === 'string' &&
        Number.isSafeInteger(r.effectiveFromSeq),
    )
  );
}

function isBundleCertificate(value: unknown): value is TrustBundleCertificate {
  return (
    isRecord(value) &&
    typeof value.service === 'string' &&
    typeof value.keyid === 'string' &&
    typeof value.pem === 'string'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

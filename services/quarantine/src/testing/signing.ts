// Test data: signs models in the OMS v1.0 format locally (no Fulcio, no Rekor, nothing
// downloaded), with a pinned-style key or a throwaway CA, so the provenance stage can be tested
// against real sigstore bundles built by `@sigstore/sign`.
// @peculiar/x509 uses decorators that read metadata: the polyfill must load first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, type Signer } from '@sigstore/sign';
import {
  KeyObject,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  webcrypto,
} from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { listArtifactFiles, sha256File } from '../provenance/artifact.js';
import { ignoredBy } from '../provenance/ignorePaths.js';
import { manifestDigest } from '../provenance/statement.js';
import { omsKeyHint } from '../provenance/trust.js';
import { OMS } from '../provenance/types.js';

x509.cryptoProvider.set(webcrypto);

export interface SignStatementOptions {
  statement: unknown;
  privateKeyPem: string;
  bundlePath: string;
  /** The bundle's `publicKey.hint`; OMS's SHA-256 of the public key PEM when omitted. */
  keyId?: string;
  /** Sign as this X.509 leaf (its key must be `privateKeyPem`) instead of as a bare key. */
  certificatePem?: string;
  /**
   * ECDSA only: the digest, else the curve's own as OMS signs (P-256 SHA-256, P-384 SHA-384,
   * P-521 SHA-512); set it to make a signature OMS would not.
   */
  hash?: 'sha256' | 'sha384' | 'sha512';
  /** ECDSA only: how (r, s) is written; DER as OMS writes it unless told. */
  dsaEncoding?: 'der' | 'ieee-p1363';
}

const CURVE_HASH: Readonly<Record<string, 'sha256' | 'sha384' | 'sha512'>> = {
  prime256v1: 'sha256',
  secp384r1: 'sha384',
  secp521r1: 'sha512',
};

export interface SignModelOptions extends Omit<SignStatementOptions, 'statement' | 'bundlePath'> {
  artifactPath: string;
  kind: 'file' | 'directory';
  /** Required for a file; for a directory `<directory>/model.sig` when omitted. */
  bundlePath?: string;
  /**
   * More `ignore_paths` entries, written as given after OMS's defaults; files under the
   * literal ones are left out of the manifest, as OMS leaves them out.
   */
  ignorePaths?: string[];
}

/** What `model_signing` leaves out of every model (its git defaults), relative to the model. */
export const OMS_DEFAULT_IGNORE_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'];

/** OMS orders resources as Python sorts `PurePosixPath`s: segment by segment, by code point. */
function omsOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = Buffer.compare(Buffer.from(x[i] ?? ''), Buffer.from(y[i] ?? ''));
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

/**
 * The in-toto statement OMS would sign for this artifact: every file hashed but those under an
 * ignore path (OMS's git defaults, the bundle itself at the top, `extraIgnorePaths`).
 */
export async function buildOmsStatement(
  artifactPath: string,
  kind: 'file' | 'directory',
  bundlePath: string | null,
  extraIgnorePaths: readonly string[] = [],
): Promise<Record<string, unknown>> {
  const atRoot =
    kind === 'directory' &&
    bundlePath !== null &&
    resolve(bundlePath) === resolve(artifactPath, OMS.bundleName);
  const ignorePaths = [
    ...OMS_DEFAULT_IGNORE_PATHS,
    ...(atRoot ? [OMS.bundleName] : []),
    ...extraIgnorePaths,
  ];
  const listed = await listArtifactFiles(artifactPath, kind, atRoot ? OMS.bundleName : null);
  if (!listed.ok) throw new Error(`cannot sign ${artifactPath}: ${listed.detail}`);
  const resources = [];
  const names = [...listed.files.keys()].filter((name) => ignoredBy(name, ignorePaths) === null);
  for (const name of names.sort(omsOrder)) {
    const digest = await sha256File(listed.files.get(name) ?? '');
    if (digest === null) throw new Error(`cannot hash ${name}`);
    resources.push({ name, algorithm: 'sha256', digest });
  }
  return {
    _type: OMS.statementType,
    subject: [
      {
        name: basename(artifactPath),
        digest: { sha256: manifestDigest(resources.map((r) => r.digest)) },
      },
    ],
    predicateType: OMS.predicateType,
    predicate: {
      serialization: {
        method: 'files',
        hash_type: 'sha256',
        allow_symlinks: false,
        ignore_paths: ignorePaths,
      },
      resources,
    },
  };
}

/** Signs any statement as an OMS bundle (DSSE, in-toto payload type, no witnesses). */
export async function signStatement(options: SignStatementOptions): Promise<void> {
  const privateKey = createPrivateKey(options.privateKeyPem);
  const publicKey = createPublicKey(privateKey);
  const curve = privateKey.asymmetricKeyDetails?.namedCurve ?? '';
  const algorithm =
    privateKey.asymmetricKeyType === 'ed25519'
      ? null
      : (options.hash ?? CURVE_HASH[curve] ?? 'sha256');
  const signingKey = { key: privateKey, dsaEncoding: options.dsaEncoding ?? 'der' } as const;
  const key =
    options.certificatePem !== undefined
      ? { $case: 'x509Certificate' as const, certificate: options.certificatePem }
      : {
          $case: 'publicKey' as const,
          publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          hint: options.keyId ?? omsKeyHint(publicKey),
        };
  const signer: Signer = {
    sign: (data) => Promise.resolve({ signature: cryptoSign(algorithm, data, signingKey), key }),
  };
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({
    data: Buffer.from(JSON.stringify(options.statement)),
    type: OMS.payloadType,
  });
  await writeFile(options.bundlePath, JSON.stringify(bundleToJSON(bundle)));
}

/** Signs a model file or directory in OMS format; returns where the bundle was written. */
export async function signModel(options: SignModelOptions): Promise<string> {
  const { artifactPath, kind, bundlePath: given, ignorePaths, ...signing } = options;
  const bundlePath = given ?? (kind === 'directory' ? join(artifactPath, OMS.bundleName) : null);
  if (bundlePath === null) throw new Error('a single file needs a separate bundlePath');
  const statement = await buildOmsStatement(artifactPath, kind, bundlePath, ignorePaths);
  await signStatement({ ...signing, statement, bundlePath });
  return bundlePath;
}

export interface TestKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A throwaway signing key: PKCS#8 private and SPKI public PEM. */
export function makeKeyPair(kind: 'ed25519' | 'P-256' | 'P-384' | 'P-521' | 'rsa'): TestKeyPair {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const pair =
    kind === 'ed25519'
      ? generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding })
      : kind === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding })
        : generateKeyPairSync('ec', { namedCurve: kind, publicKeyEncoding, privateKeyEncoding });
  return { privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
}

export interface TestCertificates {
  caCertificatePem: string;
  leafCertificatePem: string;
  leafPrivateKeyPem: string;
}

const ECDSA = {
  'P-256': { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  'P-384': { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
  'P-521': { name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' },
} as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A throwaway ECDSA CA and one code-signing leaf under it (SAN: an e-mail address), both on
 * `curve` (P-256 unless told) unless `leafCurve` gives the leaf another.
 */
export async function makeTestCertificates(
  options: {
    now?: Date;
    leafNotAfter?: Date;
    email?: string;
    curve?: keyof typeof ECDSA;
    leafCurve?: keyof typeof ECDSA;
  } = {},
): Promise<TestCertificates> {
  const { now = new Date(), email = 'signer@models.example', curve = 'P-256' } = options;
  const caAlgorithm = ECDSA[curve];
  const leafAlgorithm = ECDSA[options.leafCurve ?? curve];
  const caKeys = await webcrypto.subtle.generateKey(caAlgorithm, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=SecAI Test Model Signing CA',
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + 365 * DAY_MS),
    keys: caKeys,
    signingAlgorithm: caAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = await webcrypto.subtle.generateKey(leafAlgorithm, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: 'CN=model signer',
    issuer: ca.subject,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: options.leafNotAfter ?? new Date(now.getTime() + 30 * DAY_MS),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: caAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
      new x509.SubjectAlternativeNameExtension([{ type: 'email', value: email }]),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    caCertificatePem: ca.toString('pem'),
    leafCertificatePem: leaf.toString('pem'),
    leafPrivateKeyPem: KeyObject.from(leafKeys.privateKey)
      .export({ type: 'pkcs8', format: 'pem' })
      .toString(),
  };
}

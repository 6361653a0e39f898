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
  randomBytes,
  sign as cryptoSign,
  webcrypto,
} from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { listArtifactFiles, sha256File } from '../provenance/artifact.js';
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
}

export interface SignModelOptions extends Omit<SignStatementOptions, 'statement' | 'bundlePath'> {
  artifactPath: string;
  kind: 'file' | 'directory';
  /** Required for a file; for a directory `<directory>/model.sig` when omitted. */
  bundlePath?: string;
}

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

/** The in-toto statement OMS would sign for this artifact (hashing every file). */
export async function buildOmsStatement(
  artifactPath: string,
  kind: 'file' | 'directory',
  bundlePath: string | null,
): Promise<Record<string, unknown>> {
  const atRoot =
    kind === 'directory' &&
    bundlePath !== null &&
    resolve(bundlePath) === resolve(artifactPath, OMS.bundleName);
  const listed = await listArtifactFiles(artifactPath, kind, atRoot ? OMS.bundleName : null);
  if (!listed.ok) throw new Error(`cannot sign ${artifactPath}: ${listed.detail}`);
  const resources = [];
  for (const name of [...listed.files.keys()].sort(omsOrder)) {
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
        ignore_paths: atRoot ? [OMS.bundleName] : [],
      },
      resources,
    },
  };
}

/** Signs any statement as an OMS bundle (DSSE, in-toto payload type, no witnesses). */
export async function signStatement(options: SignStatementOptions): Promise<void> {
  const privateKey = createPrivateKey(options.privateKeyPem);
  const publicKey = createPublicKey(privateKey);
  const algorithm = privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const key =
    options.certificatePem !== undefined
      ? { $case: 'x509Certificate' as const, certificate: options.certificatePem }
      : {
          $case: 'publicKey' as const,
          publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          hint: options.keyId ?? omsKeyHint(publicKey),
        };
  const signer: Signer = {
    sign: (data) => Promise.resolve({ signature: cryptoSign(algorithm, data, privateKey), key }),
  };
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({
    data: Buffer.from(JSON.stringify(options.statement)),
    type: OMS.payloadType,
  });
  await writeFile(options.bundlePath, JSON.stringify(bundleToJSON(bundle)));
}

/** Signs a model file or directory in OMS format; returns where the bundle was written. */
export async function signModel(options: SignModelOptions): Promise<string> {
  const { artifactPath, kind, bundlePath: given, ...signing } = options;
  const bundlePath = given ?? (kind === 'directory' ? join(artifactPath, OMS.bundleName) : null);
  if (bundlePath === null) throw new Error('a single file needs a separate bundlePath');
  const statement = await buildOmsStatement(artifactPath, kind, bundlePath);
  await signStatement({ ...signing, statement, bundlePath });
  return bundlePath;
}

export interface TestCertificates {
  caCertificatePem: string;
  leafCertificatePem: string;
  leafPrivateKeyPem: string;
}

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A throwaway ECDSA P-256 CA and one code-signing leaf under it (SAN: an e-mail address). */
export async function makeTestCertificates(
  options: { now?: Date; leafNotAfter?: Date; email?: string } = {},
): Promise<TestCertificates> {
  const { now = new Date(), email = 'signer@models.example' } = options;
  const caKeys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=SecAI Test Model Signing CA',
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + 365 * DAY_MS),
    keys: caKeys,
    signingAlgorithm: ECDSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: 'CN=model signer',
    issuer: ca.subject,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: options.leafNotAfter ?? new Date(now.getTime() + 30 * DAY_MS),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ECDSA,
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

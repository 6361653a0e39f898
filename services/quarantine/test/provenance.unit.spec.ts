import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyModelSignature, type PinnedKey } from '../src/provenance/index.js';
import { provenanceWorkspace } from './provenanceWorkspace.js';
import {
  makeKeyPair,
  makeTestCertificates,
  signModel,
  signStatement,
} from '../src/testing/signing.js';

// Stage 4 on real OMS bundles built locally with @sigstore/sign: nothing leaves the machine.
// In process only; the same stage run by its worker in the sandbox is provenance.int.spec.ts.

const release = makeKeyPair('ed25519');
const ecdsa = makeKeyPair('P-256');
const stranger = makeKeyPair('ed25519');
const pinned: PinnedKey[] = [
  { id: 'release-key', publicKeyPem: release.publicKeyPem },
  { id: 'ecdsa-key', publicKeyPem: ecdsa.publicKeyPem },
];

const { modelFile, modelDirectory } = provenanceWorkspace('secai-provenance-');

function check(
  artifactPath: string,
  kind: 'file' | 'directory',
  bundlePath: string | null,
  options: { requireSignature?: boolean; keys?: PinnedKey[]; certificates?: string[] } = {},
) {
  return verifyModelSignature({
    artifactPath,
    kind,
    bundlePath,
    keys: options.keys ?? pinned,
    certificates: options.certificates ?? [],
    requireSignature: options.requireSignature ?? true,
  });
}

/** The parts of an OMS bundle and statement the tests look at or change. */
interface BundleJson {
  mediaType: string;
  dsseEnvelope: { payload: string };
}
interface StatementJson {
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: { resources: { name: string; digest: string }[] };
}

async function readSigned(bundlePath: string): Promise<[BundleJson, StatementJson]> {
  const bundle = JSON.parse(await readFile(bundlePath, 'utf8')) as BundleJson;
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString();
  return [bundle, JSON.parse(payload) as StatementJson];
}

/** Rewrites the bundle's signed payload (the signature stays the old one). */
async function tamperPayload(
  bundlePath: string,
  edit: (statement: StatementJson) => void,
): Promise<void> {
  const [bundle, statement] = await readSigned(bundlePath);
  edit(statement);
  bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  await writeFile(bundlePath, JSON.stringify(bundle));
}

describe('signed artifacts that verify', () => {
  it('given a file signed with a pinned Ed25519 key, then signature_ok names that key', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: release.privateKeyPem,
      keyId: 'release-key',
      bundlePath: sig,
    });
    const { detail, ...verdict } = await check(path, 'file', sig);
    expect(verdict).toEqual({
      passed: true,
      reasonCode: 'signature_ok',
      level: 'signature-verified',
      signer: 'release-key',
      files: 1,
    });
    expect(detail).toContain('release-key');
  });

  it('given a directory with model.sig, then every file is checked and model.sig is not', async () => {
    const dir = await modelDirectory();
    await signModel({ artifactPath: dir, kind: 'directory', privateKeyPem: release.privateKeyPem });
    const [bundle, statement] = await readSigned(join(dir, 'model.sig'));
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(statement.predicateType).toBe('https://model_signing/signature/v1.0');
    expect(statement.predicate.resources.map((r) => r.name)).toEqual([
      'model_index.json',
      'unet/config.json',
      'unet/diffusion_pytorch_model.safetensors',
    ]);
    expect(await check(dir, 'directory', null)).toMatchObject({
      passed: true,
      reasonCode: 'signature_ok',
      signer: 'release-key',
      files: 3,
    });
  });

  it('given an ECDSA P-256 key and OMS’s own key hint (SHA-256 of the PEM), then it verifies', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: ecdsa.privateKeyPem,
      bundlePath: sig,
    });
    expect(await check(path, 'file', sig)).toMatchObject({
      passed: true,
      reasonCode: 'signature_ok',
      signer: 'ecdsa-key',
    });
  });
});

describe('signatures that must not be trusted', () => {
  it('given a key nobody pinned and a required signature, then key_untrusted', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: stranger.privateKeyPem,
      keyId: 'someone',
      bundlePath: sig,
    });
    expect(await check(path, 'file', sig)).toMatchObject({
      passed: false,
      reasonCode: 'key_untrusted',
      level: 'none',
      signer: null,
    });
  });

  it('given a key nobody pinned and an optional signature, then it is only recorded', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: stranger.privateKeyPem,
      bundlePath: sig,
    });
    expect(await check(path, 'file', sig, { requireSignature: false })).toMatchObject({
      passed: true,
      reasonCode: 'signature_unverified',
      level: 'recorded',
      signer: null,
    });
  });

  it('given a payload changed after signing, then signature_invalid', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: release.privateKeyPem,
      keyId: 'release-key',
      bundlePath: sig,
    });
    await writeFile(path, 'GGUF other weights\n');
    // The attacker re-points the manifest at the new bytes; the signature no longer covers it.
    await tamperPayload(sig, (s) => {
      s.predicate.resources[0]!.digest = createHash('sha256')
        .update('GGUF other weights\n')
        .digest('hex');
    });
    expect(await check(path, 'file', sig)).toMatchObject({
      passed: false,
      reasonCode: 'signature_invalid',
    });
  });

  it('given a signature naming a pinned key but made by another, then signature_invalid', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: stranger.privateKeyPem,
      keyId: 'release-key',
      bundlePath: sig,
    });
    expect(await check(path, 'file', sig, { requireSignature: false })).toMatchObject({
      passed: false,
      reasonCode: 'signature_invalid',
    });
  });
});

describe('artifacts that differ from what was signed', () => {
  it('given one byte of the model changed, then digest_mismatch', async () => {
    const { path, sig } = await modelFile('GGUF fake weights\n');
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: release.privateKeyPem,
      bundlePath: sig,
    });
    await writeFile(path, 'GGUF fake weightS\n');
    expect(await check(path, 'file', sig)).toMatchObject({
      passed: false,
      reasonCode: 'digest_mismatch',
      signer: 'release-key',
    });
  });

  it('given a file added to the directory, then file_unlisted', async () => {
    const dir = await modelDirectory();
    await signModel({ artifactPath: dir, kind: 'directory', privateKeyPem: release.privateKeyPem });
    await writeFile(join(dir, 'unet', 'extra.py'), 'import os');
    const verdict = await check(dir, 'directory', null);
    expect(verdict).toMatchObject({ passed: false, reasonCode: 'file_unlisted' });
    expect(verdict.detail).toContain('unet/extra.py');
  });

  it('given a file removed from the directory, then file_missing', async () => {
    const dir = await modelDirectory();
    await signModel({ artifactPath: dir, kind: 'directory', privateKeyPem: release.privateKeyPem });
    await unlink(join(dir, 'unet', 'config.json'));
    const verdict = await check(dir, 'directory', null);
    expect(verdict).toMatchObject({ passed: false, reasonCode: 'file_missing' });
    expect(verdict.detail).toContain('unet/config.json');
  });

  it('given a symlink inside the directory, then artifact_invalid (never followed)', async () => {
    const dir = await modelDirectory();
    await signModel({ artifactPath: dir, kind: 'directory', privateKeyPem: release.privateKeyPem });
    await symlink('/etc/passwd', join(dir, 'unet', 'link'));
    expect(await check(dir, 'directory', null)).toMatchObject({
      passed: false,
      reasonCode: 'artifact_invalid',
    });
  });
});

describe('bundles and statements that are not OMS signatures', () => {
  it('given garbage instead of a bundle, then bundle_invalid', async () => {
    const { path, sig } = await modelFile();
    for (const garbage of ['not json', '{"mediaType":"x"}', '[]', '\xff\xfe']) {
      await writeFile(sig, garbage);
      expect((await check(path, 'file', sig)).reasonCode).toBe('bundle_invalid');
    }
  });

  it('given a bundle over 1 MiB, then bundle_too_large', async () => {
    const { path, sig } = await modelFile();
    await writeFile(sig, Buffer.alloc(1024 * 1024 + 1, 0x20));
    expect((await check(path, 'file', sig)).reasonCode).toBe('bundle_too_large');
  });

  it('given a bundle that is a directory, a symlink or a FIFO, then bundle_unreadable', async () => {
    const { path, sig } = await modelFile();
    await mkdir(sig);
    expect((await check(path, 'file', sig)).reasonCode).toBe('bundle_unreadable');
    const link = `${sig}.link`;
    await symlink('/etc/hostname', link);
    expect((await check(path, 'file', link)).reasonCode).toBe('bundle_unreadable');
    // A FIFO would block a plain open forever; the stage must answer at once.
    const fifo = `${sig}.fifo`;
    execFileSync('mkfifo', [fifo]);
    expect((await check(path, 'file', fifo)).reasonCode).toBe('bundle_unreadable');
  });

  it('given a signed statement with another predicate type, then predicate_unsupported', async () => {
    const { path, sig } = await modelFile();
    await signStatement({
      statement: {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'model.gguf', digest: { sha256: '0'.repeat(64) } }],
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: {},
      },
      privateKeyPem: release.privateKeyPem,
      bundlePath: sig,
    });
    expect((await check(path, 'file', sig)).reasonCode).toBe('predicate_unsupported');
  });

  it('given a signed manifest with a bad name, a duplicate or a wrong subject digest, then statement_invalid', async () => {
    const dir = await modelDirectory();
    const bundlePath = join(dir, 'model.sig');
    await signModel({ artifactPath: dir, kind: 'directory', privateKeyPem: release.privateKeyPem });
    const [, original] = await readSigned(bundlePath);
    const variants: ((s: StatementJson) => void)[] = [
      (s) => (s.predicate.resources[0]!.name = '../escape'),
      (s) => (s.predicate.resources[1]!.name = s.predicate.resources[0]!.name),
      (s) => (s.subject[0]!.digest.sha256 = 'f'.repeat(64)),
      (s) => (s.subject = []),
    ];
    for (const edit of variants) {
      const statement = structuredClone(original);
      edit(statement);
      await signStatement({ statement, privateKeyPem: release.privateKeyPem, bundlePath });
      expect((await check(dir, 'directory', null)).reasonCode).toBe('statement_invalid');
    }
  });
});

describe('unsigned artifacts', () => {
  it('given no bundle and a required signature, then signature_absent', async () => {
    const dir = await modelDirectory();
    expect(await check(dir, 'directory', null)).toMatchObject({
      passed: false,
      reasonCode: 'signature_absent',
      level: 'none',
    });
    const { path } = await modelFile();
    expect((await check(path, 'file', null)).reasonCode).toBe('signature_absent');
  });

  it('given no bundle and an optional signature, then passed at level none', async () => {
    const { path, sig } = await modelFile();
    const { detail, ...verdict } = await check(path, 'file', sig, { requireSignature: false });
    expect(verdict).toEqual({
      passed: true,
      reasonCode: 'unsigned',
      level: 'none',
      signer: null,
      files: 0,
    });
    expect(detail).toBe('no signature bundle found');
  });
});

describe('configuration', () => {
  it('given a pinned key that is not Ed25519, P-256 or P-384, then config_invalid', async () => {
    const { path, sig } = await modelFile();
    for (const kind of ['P-521', 'rsa'] as const) {
      const keys = [{ id: kind, publicKeyPem: makeKeyPair(kind).publicKeyPem }];
      const verdict = await check(path, 'file', sig, { keys });
      expect(verdict.reasonCode).toBe('config_invalid');
      // The refusal says what to pin instead.
      expect(verdict.detail).toContain('Ed25519, ECDSA P-256 (SHA-256) or ECDSA P-384 (SHA-384)');
    }
    const keys = [{ id: 'x', publicKeyPem: 'not a key' }];
    expect((await check(path, 'file', sig, { keys })).reasonCode).toBe('config_invalid');
  });

  it('given a pinned "CA" that is a leaf certificate, then config_invalid', async () => {
    const { path, sig } = await modelFile();
    const { leafCertificatePem } = await makeTestCertificates();
    const certificates = [leafCertificatePem];
    expect((await check(path, 'file', sig, { certificates })).reasonCode).toBe('config_invalid');
  });
});

describe('certificate-signed bundles (pinned CA, offline)', () => {
  it('given a leaf issued by the pinned CA, then signature_ok names its SAN', async () => {
    const certs = await makeTestCertificates({ email: 'release@models.example' });
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: certs.leafPrivateKeyPem,
      certificatePem: certs.leafCertificatePem,
      bundlePath: sig,
    });
    expect(
      await check(path, 'file', sig, { keys: [], certificates: [certs.caCertificatePem] }),
    ).toMatchObject({ passed: true, reasonCode: 'signature_ok', signer: 'release@models.example' });
  });

  it('given another CA, an expired leaf or no CA pinned, then key_untrusted', async () => {
    const certs = await makeTestCertificates();
    const other = await makeTestCertificates();
    const expired = await makeTestCertificates({ leafNotAfter: new Date(Date.now() - 60_000) });
    const { path, sig } = await modelFile();
    const sign = (c: typeof certs) =>
      signModel({
        artifactPath: path,
        kind: 'file',
        privateKeyPem: c.leafPrivateKeyPem,
        certificatePem: c.leafCertificatePem,
        bundlePath: sig,
      });
    await sign(certs);
    expect(
      (await check(path, 'file', sig, { certificates: [other.caCertificatePem] })).reasonCode,
    ).toBe('key_untrusted');
    expect((await check(path, 'file', sig)).reasonCode).toBe('key_untrusted');
    await sign(expired);
    expect(
      (await check(path, 'file', sig, { certificates: [expired.caCertificatePem] })).reasonCode,
    ).toBe('key_untrusted');
  });

  it('given a certificate bundle whose payload was changed, then signature_invalid', async () => {
    const certs = await makeTestCertificates();
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: certs.leafPrivateKeyPem,
      certificatePem: certs.leafCertificatePem,
      bundlePath: sig,
    });
    await tamperPayload(sig, (s) => (s.subject[0]!.name = 'renamed'));
    expect(
      (await check(path, 'file', sig, { certificates: [certs.caCertificatePem] })).reasonCode,
    ).toBe('signature_invalid');
  });
});

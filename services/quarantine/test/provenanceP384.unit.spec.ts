import { createHash, createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { bundleFromJSON } from '@sigstore/bundle';
import { VerificationError, Verifier, toSignedEntity } from '@sigstore/verify';
import { verifyModelSignature, type PinnedKey } from '../src/provenance/index.js';
import { provenanceWorkspace } from './provenanceWorkspace.js';
import { makeKeyPair, makeTestCertificates, signModel } from '../src/testing/signing.js';

// ECDSA P-384, as OMS signs with it: SHA-384 over the DSSE pre-authentication encoding. The
// library verifies every EC key with SHA-256 (src/provenance/signingKeys.ts says where), so the
// stage checks P-384 itself; these tests pin both halves of that.

const p384 = makeKeyPair('P-384');
const pinned: PinnedKey[] = [{ id: 'p384-release', publicKeyPem: p384.publicKeyPem }];

const { modelFile } = provenanceWorkspace('secai-provenance-p384-');

function check(
  path: string,
  bundlePath: string,
  trust: { keys?: PinnedKey[]; certificates?: string[]; requireSignature?: boolean } = {},
) {
  return verifyModelSignature({
    artifactPath: path,
    kind: 'file',
    bundlePath,
    keys: trust.keys ?? pinned,
    certificates: trust.certificates ?? [],
    requireSignature: trust.requireSignature ?? true,
  });
}

/** What `@sigstore/verify` 3.1 alone answers for a key-signed bundle (thresholds 0, offline). */
async function libraryAloneVerifies(bundlePath: string, publicKeyPem: string): Promise<boolean> {
  const bundle = bundleFromJSON(JSON.parse(await readFile(bundlePath, 'utf8')));
  const key = createPublicKey(publicKeyPem);
  const verifier = new Verifier(
    {
      certificateAuthorities: [],
      timestampAuthorities: [],
      tlogs: [],
      ctlogs: [],
      publicKey: () => ({ publicKey: key, validFor: () => true }),
    },
    { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 },
  );
  try {
    verifier.verify(toSignedEntity(bundle));
    return true;
  } catch (error) {
    if (error instanceof VerificationError) return false;
    throw error;
  }
}

describe('ECDSA P-384 pinned keys', () => {
  it('given a model signed with a pinned P-384 key (SHA-384, DER), then signature_ok', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: p384.privateKeyPem,
      bundlePath: sig,
    });
    expect(await check(path, sig)).toMatchObject({
      passed: true,
      reasonCode: 'signature_ok',
      level: 'signature-verified',
      signer: 'p384-release',
      files: 1,
    });
  });

  it('given the signature written as IEEE P1363 (r || s), then it verifies too', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: p384.privateKeyPem,
      bundlePath: sig,
      dsaEncoding: 'ieee-p1363',
    });
    const bundle = JSON.parse(await readFile(sig, 'utf8')) as {
      dsseEnvelope: { signatures: { sig: string }[] };
    };
    expect(Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64')).toHaveLength(96);
    expect((await check(path, sig)).reasonCode).toBe('signature_ok');
  });

  it('given a P-384 signature over another payload (the manifest re-pointed), then signature_invalid', async () => {
    const { path, sig } = await modelFile('GGUF fake weights\n');
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: p384.privateKeyPem,
      bundlePath: sig,
      keyId: 'p384-release',
    });
    // The attacker swaps the weights and rewrites the manifest's digest to match them; the
    // signature still covers the old manifest.
    const other = 'GGUF other weights\n';
    await writeFile(path, other);
    const bundle = JSON.parse(await readFile(sig, 'utf8')) as { dsseEnvelope: { payload: string } };
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()) as {
      predicate: { resources: { digest: string }[] };
    };
    statement.predicate.resources[0]!.digest = createHash('sha256').update(other).digest('hex');
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await writeFile(sig, JSON.stringify(bundle));
    expect(await check(path, sig)).toMatchObject({
      passed: false,
      reasonCode: 'signature_invalid',
    });
  });

  it('given a model changed after a valid P-384 signature, then digest_mismatch', async () => {
    const { path, sig } = await modelFile('GGUF fake weights\n');
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: p384.privateKeyPem,
      bundlePath: sig,
    });
    await writeFile(path, 'GGUF fake weightS\n');
    expect(await check(path, sig)).toMatchObject({
      passed: false,
      reasonCode: 'digest_mismatch',
      signer: 'p384-release',
    });
  });

  it('given a P-384 signature made with SHA-256, then signature_invalid, though the library alone accepts it', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: p384.privateKeyPem,
      bundlePath: sig,
      keyId: 'p384-release',
      hash: 'sha256',
    });
    // The failure mode itself: @sigstore/verify 3.1 checks EC signatures with SHA-256 only.
    expect(await libraryAloneVerifies(sig, p384.publicKeyPem)).toBe(true);
    expect(await check(path, sig)).toMatchObject({
      passed: false,
      reasonCode: 'signature_invalid',
    });
  });

  it('given a real OMS P-384 signature (SHA-384), then the library alone rejects it: why the stage checks it', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: p384.privateKeyPem,
      bundlePath: sig,
    });
    expect(await libraryAloneVerifies(sig, p384.publicKeyPem)).toBe(false);
  });

  it('given a P-384 signature by a key nobody pinned, then key_untrusted', async () => {
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: makeKeyPair('P-384').privateKeyPem,
      bundlePath: sig,
    });
    expect((await check(path, sig)).reasonCode).toBe('key_untrusted');
  });
});

describe('ECDSA P-384 certificates (pinned CA, offline)', () => {
  it('given a P-384 leaf issued by a pinned P-384 CA (SHA-384), then signature_ok names its SAN', async () => {
    const certs = await makeTestCertificates({ curve: 'P-384', email: 'p384@models.example' });
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: certs.leafPrivateKeyPem,
      certificatePem: certs.leafCertificatePem,
      bundlePath: sig,
    });
    expect(
      await check(path, sig, { keys: [], certificates: [certs.caCertificatePem] }),
    ).toMatchObject({
      passed: true,
      reasonCode: 'signature_ok',
      signer: 'p384@models.example',
    });
  });

  it('given a P-384 leaf whose signature was made with SHA-256, then signature_invalid', async () => {
    const certs = await makeTestCertificates({ curve: 'P-384' });
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: certs.leafPrivateKeyPem,
      certificatePem: certs.leafCertificatePem,
      bundlePath: sig,
      hash: 'sha256',
    });
    expect(
      (await check(path, sig, { keys: [], certificates: [certs.caCertificatePem] })).reasonCode,
    ).toBe('signature_invalid');
  });

  it('given a P-521 leaf under a pinned CA, then key_unsupported naming what is accepted (recorded when optional)', async () => {
    const certs = await makeTestCertificates({ leafCurve: 'P-521' });
    const { path, sig } = await modelFile();
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: certs.leafPrivateKeyPem,
      certificatePem: certs.leafCertificatePem,
      bundlePath: sig,
    });
    const trust = { keys: [], certificates: [certs.caCertificatePem] };
    const verdict = await check(path, sig, trust);
    expect(verdict).toMatchObject({ passed: false, reasonCode: 'key_unsupported' });
    expect(verdict.detail).toContain('ECDSA secp521r1');
    expect(verdict.detail).toContain('ECDSA P-384 (SHA-384)');
    expect(await check(path, sig, { ...trust, requireSignature: false })).toMatchObject({
      passed: true,
      reasonCode: 'signature_unverified',
      level: 'recorded',
      signer: null,
    });
  });
});

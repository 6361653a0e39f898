import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, chmod, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvelopeError } from '../src/envelope/errors.js';
import { signEvent, type DraftEvent } from '../src/envelope/sign.js';
import { verifyEnvelope } from '../src/envelope/verify.js';
import { writeFileAtomic } from '../src/fs.js';
import {
  IdentityError,
  buildTrustBundle,
  createRoot,
  createSigner,
  ensureIdentities,
  issueServiceIdentity,
  keyidOf,
  loadServiceIdentity,
  loadTrustBundle,
  loadTrustStore,
  saveTrustBundle,
  withRevocation,
  type TrustBundle,
} from '../src/identity/index.js';
import type { ServiceName } from '../src/services.js';
import { createOutsiderPki, createRogueSigner, createTestPki } from '../src/testing/pki.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const DIGEST = `sha256:${'ab'.repeat(32)}`;

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<IdentityError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IdentityError);
  expect((error as IdentityError).code).toBe(code);
  return error as IdentityError;
}

function mode(info: { mode: number }): number {
  return info.mode & 0o777;
}

describe('pki', () => {
  it('issues service certificates under a root and loads them into a trust store', async () => {
    const root = await createRoot({ now: NOW });
    const quarantine = await issueServiceIdentity(root, 'quarantine', { now: NOW });
    const registry = await issueServiceIdentity(root, 'registry', { now: NOW });
    const trust = await loadTrustStore(buildTrustBundle(root, [quarantine, registry]), {
      now: NOW,
    });

    expect(trust.rootKeyid).toBe(root.keyid);
    expect(trust.services()).toEqual(['quarantine', 'registry']);
    const key = trust.lookup(quarantine.keyid);
    expect(key).toMatchObject({ keyid: quarantine.keyid, service: 'quarantine' });
    expect(key?.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(key?.notAfter.getTime()).toBe(quarantine.notAfter.getTime());
    expect(trust.lookup(root.keyid)).toBeUndefined();
    expect(trust.lookup('0'.repeat(64))).toBeUndefined();
    expect(quarantine.notAfter.getTime()).toBe(NOW.getTime() + 825 * DAY);
    expect(root.notAfter.getTime()).toBe(NOW.getTime() + 3650 * DAY);
  });

  it('makes certificates OpenSSL reads as a CA and an end-entity it issued', async () => {
    const root = await createRoot({ now: NOW });
    const identity = await issueServiceIdentity(root, 'quarantine', { now: NOW });
    const rootCert = new X509Certificate(root.certificatePem);
    const cert = new X509Certificate(identity.certificatePem);

    expect(rootCert.ca).toBe(true);
    expect(rootCert.verify(rootCert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe('CN=quarantine');
    expect(cert.subjectAltName).toBe('URI:secai://quarantine');
    expect(cert.checkIssued(rootCert)).toBe(true);
    expect(cert.verify(rootCert.publicKey)).toBe(true);
    expect(keyidOf(identity.certificatePem)).toBe(
      createHash('sha256').update(cert.raw).digest('hex'),
    );
    expect(identity.keyid).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives every certificate its own serial and key', async () => {
    const root = await createRoot({ now: NOW });
    const a = await issueServiceIdentity(root, 'agent', { now: NOW });
    const b = await issueServiceIdentity(root, 'agent', { now: NOW });
    expect(new X509Certificate(a.certificatePem).serialNumber).not.toBe(
      new X509Certificate(b.certificatePem).serialNumber,
    );
    expect(a.keyid).not.toBe(b.keyid);
  });

  it('never issues past the root', async () => {
    const root = await createRoot({ now: NOW, validityDays: 10 });
    const identity = await issueServiceIdentity(root, 'agent', { now: NOW });
    expect(identity.notAfter.getTime()).toBe(root.notAfter.getTime());
  });
});

describe('loadTrustStore', () => {
  it('refuses a certificate issued by another root', async () => {
    const root = await createRoot({ now: NOW });
    const own = await issueServiceIdentity(root, 'registry', { now: NOW });
    const outsider = await createOutsiderPki('quarantine', { now: NOW });
    const bundle = buildTrustBundle(root, [own]);
    bundle.certificates.push(outsider.certificate);
    const error = await rejectsWith(loadTrustStore(bundle, { now: NOW }), 'CERT_CHAIN_INVALID');
    expect(error.message).toContain('quarantine');
  });

  it('refuses a certificate whose SAN names another service', async () => {
    const root = await createRoot({ now: NOW });
    const identity = await issueServiceIdentity(root, 'quarantine', { now: NOW });
    const bundle = buildTrustBundle(root, [{ ...identity, service: 'registry' }]);
    const error = await rejectsWith(loadTrustStore(bundle, { now: NOW }), 'CERT_SERVICE_MISSING');
    expect(error.message).toContain('registry');
  });

  it('refuses expired and not yet valid certificates', async () => {
    const root = await createRoot({ now: NOW });
    const identity = await issueServiceIdentity(root, 'agent', { now: NOW, validityDays: 1 });
    const bundle = buildTrustBundle(root, [identity]);
    const later = new Date(NOW.getTime() + 2 * DAY);
    const error = await rejectsWith(loadTrustStore(bundle, { now: later }), 'CERT_EXPIRED');
    expect(error.message).toContain('agent');

    const future = await issueServiceIdentity(root, 'agent', {
      now: new Date(NOW.getTime() + 5 * DAY),
    });
    await rejectsWith(
      loadTrustStore(buildTrustBundle(root, [future]), { now: later }),
      'CERT_NOT_YET_VALID',
    );
  });

  it('refuses an expired root', async () => {
    const root = await createRoot({ now: NOW, validityDays: 1 });
    const error = await rejectsWith(
      loadTrustStore(buildTrustBundle(root, []), { now: new Date(NOW.getTime() + 2 * DAY) }),
      'CERT_EXPIRED',
    );
    expect(error.message).toContain('root');
  });

  it('refuses a root that is not self-signed, or a service certificate as the root', async () => {
    const root = await createRoot({ now: NOW });
    const identity = await issueServiceIdentity(root, 'agent', { now: NOW });
    const bundle: TrustBundle = { ...buildTrustBundle(root, []), root: identity.certificatePem };
    await rejectsWith(loadTrustStore(bundle, { now: NOW }), 'CERT_CHAIN_INVALID');
  });

  it('refuses a bundle entry whose keyid is not its certificate', async () => {
    const root = await createRoot({ now: NOW });
    const identity = await issueServiceIdentity(root, 'agent', { now: NOW });
    const bundle = buildTrustBundle(root, [{ ...identity, keyid: 'f'.repeat(64) }]);
    await rejectsWith(loadTrustStore(bundle, { now: NOW }), 'IDENTITY_CORRUPT');
  });

  it('refuses garbage instead of a certificate', async () => {
    const root = await createRoot({ now: NOW });
    const bundle = buildTrustBundle(root, []);
    bundle.certificates.push({ service: 'agent', keyid: 'x', pem: 'not a certificate' });
    await rejectsWith(loadTrustStore(bundle, { now: NOW }), 'IDENTITY_CORRUPT');
  });

  it('adds revocations without changing the bundle, once per key', async () => {
    const pki = await createTestPki(['agent']);
    const keyid = pki.signerFor('agent').keyid;
    const revocation = {
      keyid,
      reason: 'key compromise',
      revokedAt: NOW.toISOString(),
      effectiveFromSeq: 42,
    };
    const once = withRevocation(pki.bundle, revocation);
    const twice = withRevocation(once, { ...revocation, reason: 'again', effectiveFromSeq: 99 });
    expect(pki.bundle.revocations).toEqual([]);
    expect(once.revocations).toEqual([revocation]);
    expect(twice).toEqual(once);
    expect(twice).not.toBe(once);

    const trust = await loadTrustStore(twice, { now: NOW });
    expect(trust.revocation(keyid)).toEqual(revocation);
    expect(trust.lookup(keyid)?.service).toBe('agent');
  });
});

describe('signing', () => {
  const started = (service: ServiceName): DraftEvent<'service.started'> => ({
    type: 'service.started',
    aggregateId: service,
    data: { service, version: '0.0.0', pid: 1, configDigest: DIGEST },
  });

  it('round-trips a signed service.started through verifyEnvelope', async () => {
    const pki = await createTestPki(['quarantine', 'registry']);
    const signer = pki.signerFor('quarantine');
    const { bytes, event } = signEvent(started('quarantine'), signer, { now: NOW });
    const verified = verifyEnvelope(bytes, pki.trust, {
      natsSubject: 'secai.evt.service.quarantine',
    });
    expect(verified.signer).toEqual({ service: 'quarantine', keyid: signer.keyid });
    expect(verified.event).toEqual(event);
    expect(verified.aggregate).toEqual({ type: 'service', id: 'quarantine' });
  });

  it('signs with a loaded identity exactly as with a fresh one', async () => {
    const root = await createRoot({ now: NOW });
    const identity = await issueServiceIdentity(root, 'agent', { now: NOW });
    const trust = await loadTrustStore(buildTrustBundle(root, [identity]), { now: NOW });
    const signer = createSigner(identity);
    expect(signer).toMatchObject({ service: 'agent', keyid: identity.keyid });
    const { bytes } = signEvent(started('agent'), signer, { now: NOW });
    expect(verifyEnvelope(bytes, trust).signer.service).toBe('agent');
  });

  it('refuses signers the trust store does not know or has revoked', async () => {
    const pki = await createTestPki(['quarantine', 'registry']);
    const rogue = signEvent(started('quarantine'), createRogueSigner('quarantine'), { now: NOW });
    expect(() => verifyEnvelope(rogue.bytes, pki.trust)).toThrow(
      expect.objectContaining({ code: 'KEY_UNKNOWN' }),
    );

    const outsider = await createOutsiderPki('quarantine');
    const smuggled = signEvent(started('quarantine'), outsider.signer, { now: NOW });
    expect(() => verifyEnvelope(smuggled.bytes, pki.trust)).toThrow(EnvelopeError);

    const signer = pki.signerFor('registry');
    const revoked = await loadTrustStore(
      withRevocation(pki.bundle, {
        keyid: signer.keyid,
        reason: 'test',
        revokedAt: NOW.toISOString(),
        effectiveFromSeq: 1,
      }),
      { now: NOW },
    );
    const { bytes } = signEvent(started('registry'), signer, { now: NOW });
    expect(() => verifyEnvelope(bytes, revoked)).toThrow(
      expect.objectContaining({ code: 'CERT_REVOKED' }),
    );
  });

  it('memoises the test PKI per services list', async () => {
    const [a, b] = await Promise.all([createTestPki(['agent']), createTestPki(['agent'])]);
    expect(a).toBe(b);
    expect(() => a.signerFor('registry')).toThrow(IdentityError);
  });
});

describe('state dir', () => {
  const dirs: string[] = [];
  async function stateDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'secai-identity-'));
    dirs.push(dir);
    return dir;
  }
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('creates a root and one identity per service, keys 0600 and directories 0700', async () => {
    const dir = await stateDir();
    const result = await ensureIdentities(dir, ['quarantine', 'registry'], { now: NOW });
    expect(result.created).toBe(true);
    expect(result.issued.map((identity) => identity.service)).toEqual(['quarantine', 'registry']);
    expect(result.bundle.certificates.map((entry) => entry.service)).toEqual([
      'quarantine',
      'registry',
    ]);

    const identity = join(dir, 'identity');
    for (const sub of ['', 'root', 'services', 'services/quarantine', 'services/registry']) {
      expect(mode(await stat(join(identity, sub))), sub).toBe(0o700);
    }
    for (const sub of ['root', 'services/quarantine', 'services/registry']) {
      expect(mode(await stat(join(identity, sub, 'key.pem'))), sub).toBe(0o600);
      const key = await readFile(join(identity, sub, 'key.pem'), 'utf8');
      expect(key).toContain('-----BEGIN PRIVATE KEY-----');
    }
    expect(await loadTrustBundle(dir)).toEqual(result.bundle);
    const trust = await loadTrustStore(result.bundle, { now: NOW });
    expect(trust.rootKeyid).toBe(result.root.keyid);
  });

  it('loads the same identities on the next call', async () => {
    const dir = await stateDir();
    const first = await ensureIdentities(dir, ['quarantine', 'registry'], { now: NOW });
    const second = await ensureIdentities(dir, ['quarantine', 'registry'], {
      now: new Date(NOW.getTime() + DAY),
    });
    expect(second.created).toBe(false);
    expect(second.issued).toEqual([]);
    expect(second.root.keyid).toBe(first.root.keyid);
    expect(second.bundle).toEqual(first.bundle);
    const loaded = await loadServiceIdentity(dir, 'quarantine');
    expect(loaded.keyid).toBe(first.issued[0]!.keyid);
    expect(
      loaded.privateKey.export({ format: 'pem', type: 'pkcs8' }) ===
        first.issued[0]!.privateKey.export({ format: 'pem', type: 'pkcs8' }),
    ).toBe(true);
  });

  it('issues only the identity of a newly added service and keeps revocations', async () => {
    const dir = await stateDir();
    const first = await ensureIdentities(dir, ['quarantine'], { now: NOW });
    const revocation = {
      keyid: 'e'.repeat(64),
      reason: 'rotated',
      revokedAt: NOW.toISOString(),
      effectiveFromSeq: 7,
    };
    await saveTrustBundle(dir, withRevocation(first.bundle, revocation));

    const second = await ensureIdentities(dir, ['quarantine', 'agent'], { now: NOW });
    expect(second.created).toBe(false);
    expect(second.issued.map((identity) => identity.service)).toEqual(['agent']);
    expect(second.bundle.certificates.map((entry) => entry.keyid)).toEqual([
      first.issued[0]!.keyid,
      second.issued[0]!.keyid,
    ]);
    expect(second.bundle.revocations).toEqual([revocation]);
    expect(await loadTrustBundle(dir)).toEqual(second.bundle);
  });

  it('refuses a private key that group or others may read', async () => {
    const dir = await stateDir();
    await ensureIdentities(dir, ['agent'], { now: NOW });
    await chmod(join(dir, 'identity/services/agent/key.pem'), 0o644);
    const error = await rejectsWith(loadServiceIdentity(dir, 'agent'), 'KEY_PERMISSIONS');
    expect(error.message).toContain('0644');
    await rejectsWith(ensureIdentities(dir, ['agent'], { now: NOW }), 'KEY_PERMISSIONS');
  });

  it('reports missing identities and bundles', async () => {
    const dir = await stateDir();
    await rejectsWith(loadServiceIdentity(dir, 'agent'), 'IDENTITY_MISSING');
    await rejectsWith(loadTrustBundle(dir), 'IDENTITY_MISSING');
    await ensureIdentities(dir, ['agent'], { now: NOW });
    await rejectsWith(loadServiceIdentity(dir, 'registry'), 'IDENTITY_MISSING');
  });

  it('refuses to re-key when the root is gone but services remain', async () => {
    const dir = await stateDir();
    await ensureIdentities(dir, ['agent'], { now: NOW });
    await rm(join(dir, 'identity/root'), { recursive: true });
    await rejectsWith(ensureIdentities(dir, ['agent'], { now: NOW }), 'IDENTITY_CORRUPT');
  });

  it('refuses a corrupt trust bundle and a key that is not the certificate’s', async () => {
    const dir = await stateDir();
    const first = await ensureIdentities(dir, ['agent', 'registry'], { now: NOW });
    await writeFile(join(dir, 'identity/trust-bundle.json'), '{"version":1}');
    await rejectsWith(loadTrustBundle(dir), 'IDENTITY_CORRUPT');

    const other = first.issued[1]!.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    await writeFileAtomic(join(dir, 'identity/services/agent/key.pem'), other);
    await rejectsWith(loadServiceIdentity(dir, 'agent'), 'IDENTITY_CORRUPT');
  });

  it('writes files atomically without leaving temporary files', async () => {
    const dir = await stateDir();
    const path = join(dir, 'file.txt');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, new TextEncoder().encode('two'), 0o644);
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(mode(await stat(path))).toBe(0o644);
    await writeFileAtomic(path, 'three');
    expect(mode(await stat(path))).toBe(0o600);
    expect(await readdir(dir)).toEqual(['file.txt']);

    await expect(writeFileAtomic(join(dir, 'missing', 'file.txt'), 'x')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['file.txt']);
  });
});

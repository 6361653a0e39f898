// The cryptographic part, done by `@sigstore/verify` offline: pinned keys or pinned CAs are the
// only trust; transparency logs, CT logs and timestamp authorities are not consulted (thresholds
// 0) and whatever the bundle carries of them is dropped before verification, because without
// their public keys it can neither be verified nor be allowed to choose the verification time.
// One exception to "done by the library": ECDSA P-384 signatures (see signingKeys.ts).
import { X509Certificate as NodeCertificate } from 'node:crypto';
import type { BundleWithDsseEnvelope, TransparencyLogEntry } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import {
  VerificationError,
  Verifier,
  toSignedEntity,
  type SignedEntity,
  type TrustMaterial,
} from '@sigstore/verify';
import {
  ACCEPTED_SIGNING_KEYS,
  describeKey,
  signingKeyKind,
  withKeyDigests,
} from './signingKeys.js';
import type { Trust, TrustedKey } from './trust.js';
import { fail, type Failure } from './types.js';

export type SignatureCheck = { ok: true; signer: string } | Failure;

const OFFLINE = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 } as const;

function material(partial: Partial<TrustMaterial>): TrustMaterial {
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: () => {
      throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: 'no key for this path' });
    },
    ...partial,
  };
}

/**
 * The moment certificates must be valid at. `@sigstore/verify` checks a certificate chain once
 * per verified timestamp and, with none, not at all (and then fails on a missing path). Offline
 * there is no trusted timestamp, so verification time is now: the timestamp is supplied here as
 * a transparency-log one (`getTLogTimestamp` only reads its time), never taken from the bundle.
 */
function verificationTime(now: Date): SignedEntity['timestamps'][number] {
  const entry = {
    logIndex: '0',
    logId: { keyId: Buffer.alloc(0) },
    integratedTime: String(Math.floor(now.getTime() / 1000)),
    inclusionPromise: { signedEntryTimestamp: Buffer.alloc(0) },
    canonicalizedBody: Buffer.alloc(0),
  } as unknown as TransparencyLogEntry;
  return { $case: 'transparency-log', tlogEntry: entry };
}

function tryVerify(verifier: Verifier, entity: SignedEntity): VerificationError | null {
  try {
    verifier.verify(entity);
    return null;
  } catch (error) {
    if (error instanceof VerificationError) return error;
    return new VerificationError({ code: 'SIGNATURE_ERROR', message: String(error) });
  }
}

function verifyWithKeys(entity: SignedEntity, hint: string, keys: TrustedKey[]): SignatureCheck {
  if (keys.length === 0) return fail('key_untrusted', 'the bundle is key-signed; no key is pinned');
  const offline = { ...entity, tlogEntries: [], timestamps: [] };
  // The hint is unsigned, so it only orders the attempts; every pinned key is tried.
  const named = keys.filter(
    (k) => hint !== '' && (k.hints.has(hint) || k.hints.has(hint.toLowerCase())),
  );
  for (const key of [...named, ...keys.filter((k) => !named.includes(k))]) {
    const finder = () => ({ publicKey: key.key, validFor: () => true });
    if (tryVerify(new Verifier(material({ publicKey: finder }), OFFLINE), offline) === null)
      return { ok: true, signer: key.id };
  }
  // A signature that names a pinned key and fails is tampering; one naming nothing we know (or
  // nothing at all) is told apart only by that unsigned hint, so it reads as an unknown signer.
  return named[0] !== undefined
    ? fail('signature_invalid', `the signature does not verify with pinned key ${named[0].id}`)
    : fail('key_untrusted', 'no pinned key verifies the signature');
}

function leafCertificate(leafDer: Uint8Array | undefined): NodeCertificate | null {
  try {
    return new NodeCertificate(leafDer ?? Buffer.alloc(0));
  } catch {
    return null;
  }
}

function certificateSigner(leaf: NodeCertificate | null, san: string | undefined): string {
  if (san !== undefined && san !== '') return san;
  return leaf?.subject.replace(/\n/g, ', ') ?? 'unknown certificate subject';
}

function verifyWithCertificate(
  entity: SignedEntity,
  leafDer: Uint8Array | undefined,
  trust: Trust,
  now: Date,
): SignatureCheck {
  if (trust.authorities.length === 0)
    return fail('key_untrusted', 'the bundle carries a certificate; no CA is pinned');
  // Told apart before the chain: a P-521 or RSA leaf would otherwise read as a bad signature.
  const leaf = leafCertificate(leafDer);
  if (leaf !== null && signingKeyKind(leaf.publicKey) === null)
    return fail(
      'key_unsupported',
      `the signing certificate's key is ${describeKey(leaf.publicKey)}; accepted: ${ACCEPTED_SIGNING_KEYS}`,
    );
  const offline = { ...entity, tlogEntries: [], timestamps: [verificationTime(now)] };
  const verifier = new Verifier(material({ certificateAuthorities: trust.authorities }), OFFLINE);
  try {
    const signer = verifier.verify(offline);
    return {
      ok: true,
      signer: certificateSigner(leaf, signer.identity?.subjectAlternativeName),
    };
  } catch (error) {
    if (error instanceof VerificationError && error.code === 'CERTIFICATE_ERROR')
      return fail('key_untrusted', `certificate not trusted: ${error.message}`);
    if (error instanceof VerificationError && error.code === 'SIGNATURE_ERROR')
      return fail('signature_invalid', 'the signature does not verify with the certificate key');
    return fail('signature_invalid', `certificate verification failed: ${String(error)}`);
  }
}

/** Verifies the DSSE signature of an OMS bundle against the pinned trust. */
export function verifyBundleSignature(
  bundle: BundleWithDsseEnvelope,
  trust: Trust,
  now: Date,
): SignatureCheck {
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle);
  } catch (error) {
    return fail('bundle_invalid', `unusable verification material: ${String(error).slice(0, 200)}`);
  }
  const envelope = bundle.content.dsseEnvelope;
  const pae = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
  entity = { ...entity, signature: withKeyDigests(entity.signature, pae) };
  const content = bundle.verificationMaterial.content;
  switch (content.$case) {
    case 'publicKey':
      return verifyWithKeys(entity, content.publicKey.hint, trust.keys);
    case 'certificate':
      return verifyWithCertificate(entity, content.certificate.rawBytes, trust, now);
    case 'x509CertificateChain':
      return verifyWithCertificate(
        entity,
        content.x509CertificateChain.certificates[0]?.rawBytes,
        trust,
        now,
      );
  }
}

// Which signing keys the stage accepts, and the one signature check it does itself.
//
// Why not leave every signature to `@sigstore/verify` 3.1.1: its DSSE check
// (`dist/bundle/dsse.js`, `verifySignature`) calls `@sigstore/core`'s `crypto.verify(data, key,
// signature)` with no algorithm, and `@sigstore/core` 3.2.1 (`dist/crypto.js`, `verify`) passes
// that `undefined` on to node's `crypto.verify`, so OpenSSL picks the key's default digest:
// SHA-256 for every EC key, whatever the curve. Sigstore pairs P-384 with SHA-384
// (PKIX_ECDSA_P384_SHA_384) and OMS signs P-384 with SHA-384, so the library rejects every real
// P-384 OMS signature and accepts a P-384 signature over SHA-256 that no OMS signer makes. For
// P-384 the signature is therefore checked here, with SHA-384 only. Ed25519 (no digest) and
// P-256 (SHA-256 is right) stay with the library. Certificate chains are not affected: the
// library verifies a certificate with the hash its signature algorithm OID names.
import { verify, type KeyObject } from 'node:crypto';
import type { SignedEntity } from '@sigstore/verify';

export type SigningKeyKind = 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384';

/** Named in every refusal of a key, so an operator knows what to pin instead. */
export const ACCEPTED_SIGNING_KEYS = 'Ed25519, ECDSA P-256 (SHA-256) or ECDSA P-384 (SHA-384)';

const CURVES: Readonly<Record<string, SigningKeyKind>> = {
  prime256v1: 'ecdsa-p256',
  secp384r1: 'ecdsa-p384',
};

/** The key's kind when the stage verifies it correctly, else null (P-521, RSA, ...). */
export function signingKeyKind(key: KeyObject): SigningKeyKind | null {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType !== 'ec') return null;
  return CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? null;
}

/** For a refusal: "ECDSA secp521r1", "RSA", ... */
export function describeKey(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ec')
    return `ECDSA ${key.asymmetricKeyDetails?.namedCurve ?? 'on an unnamed curve'}`;
  return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
}

/** IEEE P1363 (r || s) of P-384: two 48-byte integers. */
const P384_P1363_BYTES = 96;

/**
 * ECDSA P-384 with SHA-384 over `data`. DER is what OMS (Python `cryptography`) and node write;
 * IEEE P1363 is what WebCrypto and some HSMs write. Both encode the same (r, s), so accepting
 * either adds no forgery; only a signature of exactly P1363's length is tried as P1363.
 */
export function verifyP384(data: Buffer, signature: Buffer, key: KeyObject): boolean {
  const encodings =
    signature.length === P384_P1363_BYTES ? (['der', 'ieee-p1363'] as const) : (['der'] as const);
  return encodings.some((dsaEncoding) => {
    try {
      return verify('sha384', data, { key, dsaEncoding }, signature);
    } catch {
      return false;
    }
  });
}

type SignatureContent = SignedEntity['signature'];

/**
 * The entity's signature with the digest chosen by key: P-384 checked here over the DSSE
 * pre-authentication encoding `pae`, keys the stage does not accept never verify, the rest
 * checked by the library. Used for pinned keys and certificate leaves alike.
 */
export function withKeyDigests(inner: SignatureContent, pae: Buffer): SignatureContent {
  return {
    signature: inner.signature,
    compareSignature: (signature) => inner.compareSignature(signature),
    compareDigest: (digest) => inner.compareDigest(digest),
    verifySignature: (key) => {
      const kind = signingKeyKind(key);
      if (kind === null) return false;
      if (kind === 'ecdsa-p384') return verifyP384(pae, inner.signature, key);
      return inner.verifySignature(key);
    },
  };
}

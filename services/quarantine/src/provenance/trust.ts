// The operator's trust anchors (pinned keys and CA certificates), checked before any bundle is
// looked at: a broken pin is a configuration error, never a silently smaller trust set.
import { X509Certificate as NodeCertificate, createHash, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { ACCEPTED_SIGNING_KEYS, describeKey, signingKeyKind } from './signingKeys.js';
import { LIMITS, fail, type Failure, type PinnedCertificate, type PinnedKey } from './types.js';

export interface TrustedKey {
  id: string;
  key: KeyObject;
  /** Hints a bundle may name this key by: its id, and OMS's SHA-256 of the SPKI PEM. */
  hints: ReadonlySet<string>;
}

export interface Trust {
  keys: TrustedKey[];
  authorities: TrustMaterial['certificateAuthorities'];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----/g;
const ALWAYS = { start: new Date(0), end: new Date(8_640_000_000_000_000) };

/** SHA-256 (hex) of the key's SPKI PEM as OMS writes it into `publicKey.hint`. */
export function omsKeyHint(key: KeyObject): string {
  const pem = key.export({ type: 'spki', format: 'pem' });
  return createHash('sha256').update(pem).digest('hex');
}

function loadKey(pinned: PinnedKey, index: number): TrustedKey | Failure {
  const where = `pinned key ${index}`;
  if (typeof pinned !== 'object' || pinned === null)
    return fail('config_invalid', `${where}: must be { id, publicKeyPem }`);
  if (typeof pinned.id !== 'string' || pinned.id.length === 0 || pinned.id.length > 128)
    return fail('config_invalid', `${where}: id must be 1-128 characters`);
  if (typeof pinned.publicKeyPem !== 'string' || pinned.publicKeyPem.length > LIMITS.pemChars)
    return fail('config_invalid', `${where}: publicKeyPem must be a PEM string`);
  let key: KeyObject;
  try {
    key = createPublicKey(pinned.publicKeyPem);
  } catch {
    return fail('config_invalid', `${where} (${pinned.id}): not a public key PEM`);
  }
  // A key the stage cannot verify correctly (see signingKeys.ts) would silently never match.
  if (signingKeyKind(key) === null)
    return fail(
      'config_invalid',
      `${where} (${pinned.id}) is ${describeKey(key)}: pin an ${ACCEPTED_SIGNING_KEYS} key`,
    );
  return { id: pinned.id, key, hints: new Set([pinned.id, omsKeyHint(key)]) };
}

/** One pinned CA: its certificates in order, all CAs, the last one self-signed. */
function loadAuthority(
  pem: PinnedCertificate,
  index: number,
): Trust['authorities'][number] | Failure {
  const where = `pinned certificate ${index}`;
  if (typeof pem !== 'string' || pem.length > LIMITS.pemChars)
    return fail('config_invalid', `${where}: must be a PEM string`);
  const blocks = [...pem.matchAll(PEM_CERTIFICATE)].map((m) =>
    Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'),
  );
  if (blocks.length === 0 || blocks.length > 8)
    return fail('config_invalid', `${where}: expected 1-8 PEM certificates`);
  const chain: X509Certificate[] = [];
  let last: NodeCertificate | undefined;
  for (const der of blocks) {
    try {
      // node:crypto (OpenSSL) validates the DER strictly; @sigstore/core's parser is what the
      // verifier uses, so both must accept it.
      last = new NodeCertificate(der);
      chain.push(X509Certificate.parse(der));
    } catch {
      return fail('config_invalid', `${where}: a certificate cannot be parsed`);
    }
    if (!last.ca) return fail('config_invalid', `${where}: ${last.subject} is not a CA`);
  }
  if (last === undefined || !last.checkIssued(last) || !last.verify(last.publicKey))
    return fail('config_invalid', `${where}: the chain must end at a self-signed root`);
  return { certChain: chain, validFor: ALWAYS };
}

/** Array.isArray without widening a readonly list's element type to any. */
function isList<T>(value: readonly T[]): boolean {
  return Array.isArray(value);
}

export function loadTrust(
  keys: readonly PinnedKey[],
  certificates: readonly PinnedCertificate[],
): { ok: true; trust: Trust } | Failure {
  // Checked although typed: the lists come from policy JSON through the worker.
  if (!isList(keys) || keys.length > LIMITS.keys)
    return fail('config_invalid', `keys must be a list of at most ${LIMITS.keys}`);
  if (!isList(certificates) || certificates.length > LIMITS.certificates)
    return fail('config_invalid', `certificates must be a list of at most ${LIMITS.certificates}`);
  const trust: Trust = { keys: [], authorities: [] };
  for (const [index, pinned] of keys.entries()) {
    const key = loadKey(pinned, index);
    if ('ok' in key) return key;
    if (trust.keys.some((k) => k.id === key.id))
      return fail('config_invalid', `pinned key id ${key.id} appears twice`);
    trust.keys.push(key);
  }
  for (const [index, pem] of certificates.entries()) {
    const authority = loadAuthority(pem, index);
    if ('ok' in authority) return authority;
    trust.authorities.push(authority);
  }
  return { ok: true, trust };
}

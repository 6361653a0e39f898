import { sign, type KeyObject } from 'node:crypto';
import type { Signer } from '../envelope/types.js';
import { IdentityError } from './errors.js';

/** A synchronous Ed25519 signer for one service identity. */
export function createSigner(identity: {
  service: string;
  keyid: string;
  privateKey: KeyObject;
}): Signer {
  const { service, keyid, privateKey } = identity;
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new IdentityError(
      'IDENTITY_CORRUPT',
      `${service}: signing key is not an Ed25519 private key`,
    );
  }
  return Object.freeze({
    service,
    keyid,
    sign: (bytes: Uint8Array): Uint8Array => sign(null, bytes, privateKey),
  });
}

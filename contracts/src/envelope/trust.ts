import type { KeyObject } from 'node:crypto';
import type { Revocation } from './revocation.js';

export type { Revocation } from './revocation.js';

/** A service key whose certificate chains to the appliance root (checked when loaded). */
export interface TrustedKey {
  keyid: string;
  service: string;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}

/** What the verifier asks of trust material. Lookups are synchronous: the hot path never waits. */
export interface TrustStore {
  lookup(keyid: string): TrustedKey | undefined;
  revocation(keyid: string): Revocation | undefined;
}

import type { KeyObject } from 'node:crypto';

/** A service key whose certificate chains to the appliance root (checked when loaded). */
export interface TrustedKey {
  keyid: string;
  service: string;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}

export interface Revocation {
  keyid: string;
  reason: string;
  revokedAt: string;
  /**
   * First stream sequence at which the key is no longer trusted. History before it stays valid
   * (the key was good when it signed); anything at or after it, or outside the stream (commands,
   * replies), is refused.
   */
  effectiveFromSeq: number;
}

/** What the verifier asks of trust material. Lookups are synchronous: the hot path never waits. */
export interface TrustStore {
  lookup(keyid: string): TrustedKey | undefined;
  revocation(keyid: string): Revocation | undefined;
}

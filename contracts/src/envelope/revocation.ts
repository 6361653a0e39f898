// Node-free on purpose: the trust bundle (and so the browser verifier) names this type.

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

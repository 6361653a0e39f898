import type { Revocation } from '../envelope/revocation.js';

/**
 * The trust material every verifier caches: the appliance root, every issued service
 * certificate, and the revocations. Published in the `secai_trust` KV bucket and carried in the
 * header of every exported event bundle.
 */
export interface TrustBundle {
  version: 1;
  /** PEM of the appliance root CA certificate. */
  root: string;
  certificates: TrustBundleCertificate[];
  revocations: Revocation[];
}

export interface TrustBundleCertificate {
  service: string;
  keyid: string;
  /** PEM of the service certificate, issued by the root. */
  pem: string;
}

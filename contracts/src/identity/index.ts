export type { TrustBundle, TrustBundleCertificate } from './bundle.js';
export { IdentityError, type IdentityErrorCode } from './errors.js';
export {
  createRoot,
  issueServiceIdentity,
  keyidOf,
  type RootIdentity,
  type ServiceIdentity,
} from './pki.js';
export { createSigner } from './signer.js';
export {
  ensureIdentities,
  loadServiceIdentity,
  loadTrustBundle,
  saveTrustBundle,
  type EnsuredIdentities,
} from './store.js';
export {
  MemoryTrustStore,
  buildTrustBundle,
  loadTrustStore,
  withRevocation,
} from './trustStore.js';

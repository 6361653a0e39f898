export {
  ProjectionError,
  ProjectionRunner,
  renderDocument,
  type ProjectedEvent,
  type Projection,
  type ProjectionCheckpoint,
  type ProjectionErrorCode,
} from './projection.js';
export { PROJECTIONS, projectionByName, type ProjectionName } from './catalog.js';
export { replay, type ReplayRange, type ReplayResult } from './replay.js';
export {
  SERVICE_STATUS,
  serviceStatusProjection,
  type ServiceRunState,
  type ServiceStatusDocument,
  type ServiceStatusEntry,
} from './serviceStatus/index.js';
export {
  EVENT_COUNTS,
  eventCountsProjection,
  type EventCountsDocument,
} from './eventCounts/index.js';
export {
  REGISTRY_MANIFEST,
  registryManifestProjection,
  modelStoreRoot,
  runnableModels,
  type ManifestEntry,
  type ModelStatus,
  type RegistryManifestDocument,
} from './registryManifest/index.js';
export {
  ChainBuilder,
  ChainError,
  GENESIS_HEAD,
  chainLink,
  entryDigest,
  headBytes,
  linkDigest,
  type ChainErrorCode,
} from './chain/index.js';
export {
  HISTORY_CODES,
  SEAL_TYPE,
  verifyHistory,
  type HistoryCode,
  type HistoryEntry,
  type HistoryReport,
  EventIdIndex,
  type VerificationCode,
  type VerificationFailure,
  type VerifyHistoryOptions,
} from './audit/index.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  BUNDLE_VERSIONS_READ,
  BundleError,
  MAX_BUNDLE_LINE_BYTES,
  bundleEntryLine,
  bundleEntryLineV1,
  bundleHeaderLine,
  openBundle,
  parseBundleEntryLine,
  parseBundleHeaderLine,
  readBundle,
  verifyBundle,
  writeBundle,
  type BundleEntry,
  type BundleErrorCode,
  type BundleHeader,
  type BundleReport,
  type BundleVersion,
  type OpenBundle,
  type StoredBundleEntry,
  type VerifyBundleOptions,
} from './bundle/index.js';
export {
  API_KEYS,
  API_KEY_PREFIX,
  apiKeyCaller,
  apiKeysProjection,
  validKeyDigests,
  type ApiKeyRecord,
  type ApiKeysDocument,
} from './apiKeys/index.js';

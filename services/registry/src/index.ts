export { DEFAULT_VERIFY_EVERY_MS, loadConfig, type RegistryConfig } from './config.js';
export * from './decider.js';
export {
  ModelStore,
  StoreError,
  observe,
  removeTree,
  storeLayout,
  type StoreErrorCode,
  type StoreLayout,
} from './store.js';
export {
  Registry,
  type ContainOutcome,
  type Metadata,
  type RegistryDeps,
  type RemoveOutcome,
  type VerificationOutcome,
  type VerifyOptions,
} from './registry.js';
export { PROMOTION_DURABLE, runPromotionConsumer } from './consumer.js';
export {
  PROGRESS_INTERVAL_MS,
  progressPublisher,
  serveCommands,
  type CommandDeps,
  type ServedCommands,
} from './commandHandlers.js';
export {
  MODEL_STATUSES,
  SCOPES,
  buildHttp,
  viewOf,
  type HttpDeps,
  type ModelView,
} from './http.js';
export {
  startRegistry,
  type RegistryConnection,
  type RunningRegistry,
  type StartRegistryOptions,
} from './service.js';

export { loadConfig, type MonitorConfig } from './config.js';
export { INTEGRITY_ERROR_CODES, IntegrityError, type IntegrityErrorCode } from './errors.js';
export * from './records.js';
export * from './decider.js';
export {
  STORE_DIR_MODE,
  STORE_FILE_MODE,
  applyGrace,
  modelDifferences,
  type ArtifactResult,
  type ExpectedModel,
  type ModelStoreObservation,
} from './modelRules.js';
export * from './patterns.js';
export {
  CONFIG_FILE_NAME,
  DEFAULT_CONFIG_FILE,
  INSTALL_DIR,
  IntegrityConfigSchema,
  MAX_CONFIG_BYTES,
  ensureConfigFile,
  loadSettings,
  parseSettings,
  type ClassSettings,
  type IntegritySettings,
  type PathVariables,
} from './settings.js';
export {
  DEFAULT_CONCURRENCY,
  MAX_ENTRIES,
  Observer,
  expandPattern,
  type Observation,
  type ObserverOptions,
} from './observe.js';
export {
  MAX_BASELINE_BYTES,
  baselineDir,
  baselineFile,
  readBaseline,
  writeBaseline,
  type BaselineRead,
  type StoredBaseline,
} from './baselineStore.js';
export { ModelHasher, expectedModels } from './modelStore.js';
export { DirWatcher, type WatcherOptions } from './watcher.js';
export {
  IntegrityMonitor,
  type CheckSummary,
  type CheckTrigger,
  type ClassStatus,
  type MonitorDeps,
  type MonitorStatus,
  type OpenViolation,
  type RebaselineOutcome,
} from './monitor.js';
export { serveCommands, type CommandDeps, type ServedCommands } from './commandHandlers.js';
export { SCOPES, buildHttp, type HttpDeps } from './http.js';
export {
  startIntegrityMonitor,
  type MonitorConnection,
  type RunningMonitor,
  type StartMonitorOptions,
} from './service.js';

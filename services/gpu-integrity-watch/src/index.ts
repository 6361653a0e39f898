export { loadConfig, type WatchConfig } from './config.js';
export { GPU_WATCH_ERROR_CODES, GpuWatchError, type GpuWatchErrorCode } from './errors.js';
export * from './probes/types.js';
export * from './probes/tensorHash.js';
export * from './probes/sentinel.js';
export * from './probes/ecc.js';
export * from './probes/driver.js';
export * from './probes/devices.js';
export * from './scoring.js';
export * from './anomalies.js';
export * from './baseline.js';
export * from './decider.js';
export {
  DEFAULT_INTERVAL_SECONDS,
  DEFAULT_SENTINEL_MAX_TOKENS,
  GpuWatchPolicySchema,
  gpuWatchSettingsOf,
  type GpuWatchPolicy,
  type GpuWatchSettings,
  type PolicyRead,
} from './policy.js';
export {
  GpuHost,
  NVIDIA_SMI_CANDIDATES,
  NVIDIA_SMI_TIMEOUT_MS,
  type GpuHostOptions,
} from './host.js';
export { ModelFileHasher, modelsInStore } from './modelFiles.js';
export {
  DEFAULT_INFERENCE_URL,
  InferenceClient,
  SentinelAnswerSchema,
  type InferenceClientOptions,
  type SentinelAnswer,
  type SentinelReply,
} from './inferenceClient.js';
export {
  REFERENCE_ITERATIONS,
  SENTINEL_NAME,
  SENTINEL_PROMPT,
  promptDigest,
  referenceOf,
  runSentinels,
  sentinelTargets,
} from './sentinels.js';
export {
  LOADED_MODELS,
  loadedModelsProjection,
  type LoadedModelEntry,
  type LoadedModelsDocument,
} from './loadedModels.js';
export {
  GpuWatch,
  POLICY_RETRY_MS,
  type CeremonyReport,
  type CycleReport,
  type CycleTrigger,
  type GpuWatchDeps,
} from './watch.js';
export {
  attestStateOf,
  policyViewOf,
  statusOf,
  type AnomalyView,
  type AttestState,
  type PolicyView,
  type WatchStatus,
} from './views.js';
export { runProbes, type ProbeDeps, type ProbeRun } from './probeRun.js';
export {
  ceremonyCapture,
  firstLoadCapture,
  type CeremonyCapture,
  type FirstLoadCapture,
} from './captures.js';
export { DEFAULT_HISTORY_LIMIT, SCOPES, buildHttp, type HttpDeps } from './http.js';
export {
  hostIdOf,
  startGpuWatch,
  type RunningWatch,
  type StartWatchOptions,
  type WatchConnection,
} from './service.js';

export { loadConfig, type RecorderConfig } from './config.js';
export * from './sealer/decider.js';
export { startSealer, type Sealer, type SealResult } from './sealer/follower.js';
export * from './policy/schema.js';
export {
  DEFAULT_POLICY_FILE,
  IncidentPolicyError,
  POLICY_FILE_NAME,
  defaultIncidentPolicy,
  loadIncidentPolicy,
  parseIncidentPolicy,
  readIncidentPolicy,
  type IncidentPolicyErrorCode,
  type LoadedPolicy,
  type ParseResult,
} from './policy/load.js';
export {
  DEVELOPMENT_REASON_CODES,
  MAX_BURST_KEYS,
  OBSERVED_TYPES,
  classify,
  developmentMode,
  initialAttestationLedger,
  initialBurstState,
  noteAttestation,
  isObservedType,
  maxSeverity,
  modelOfPath,
  observeDecision,
  type AttestationLedger,
  type BurstState,
  type Observation,
  type ObservedEvent,
  type ObservedType,
} from './classifier.js';
export * from './machine.js';
export * from './decider.js';
export {
  IncidentBook,
  INCIDENT_FILTER,
  toIncidentEvent,
  type IncidentRecord,
  type HandledIncident,
  type IncidentCommandFor,
  type RecorderConnection,
} from './book.js';
export {
  findAttestation,
  obtainAttestation,
  satisfies,
  warmAttestationLedger,
} from './attestation.js';
export {
  ACTION_COMMANDS,
  ContainmentExecutor,
  type ActionOutcome,
  type ExecutorDeps,
} from './containment.js';
export { IncidentRecorder, observedOf, type RecorderDeps, type StepOutcome } from './recorder.js';
export {
  OBSERVATIONS_DURABLE,
  PRIORITY_LANES,
  runObservationConsumers,
  warmBurstWindows,
} from './consumer.js';
export { offenderOf, observeRefusal, initialFloodState, type FloodState } from './flood.js';
export {
  intakeHealth,
  observationIntake,
  type IntakeHealth,
  type LagSample,
  type ObservationIntake,
} from './intake.js';
export { serveCommands, type CommandDeps } from './commandHandlers.js';
export {
  ExportError,
  MAX_EXPORT_BYTES,
  exportIncident,
  incidentSelection,
  uuidV7Time,
  type ExportDeps,
  type ExportErrorCode,
  type IncidentExport,
} from './export.js';
export { INCIDENT_STATES, SCOPES, buildHttp, type HttpDeps } from './http.js';
export { byPriority, incidentView, trustBundleOf, type IncidentView } from './view.js';
export { startRecorder, type RunningRecorder, type StartRecorderOptions } from './service.js';

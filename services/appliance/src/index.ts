export { boot, DEFAULT_NATS_PORT, type BootOptions, type BootedAppliance } from './boot.js';
export {
  checkAttestation,
  describeAttestation,
  isDevelopmentMode,
  type AttestationGate,
} from './attestationGate.js';
export { ApplianceError, type ApplianceErrorCode } from './errors.js';
export { acquireBootLock } from './lock.js';
export { resolveStateDir } from './stateDir.js';
export {
  DEFAULT_RESTART_POLICY,
  decideRestart,
  type RestartDecision,
  type RestartPolicy,
} from './restartPolicy.js';
export { SERVICE_DEFINITIONS, startOrder, type ServiceDefinition } from './serviceTable.js';
export {
  Supervisor,
  type ManagedService,
  type ServiceState,
  type ServiceStatus,
} from './supervisor.js';
export { revokeIdentity, type RevokeRequest, type RevokeResult } from './revoke.js';

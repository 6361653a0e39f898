export { loadConfig, type AttestorConfig } from './config.js';
export * from './decider.js';
export {
  PCR_BANK,
  PCR_BANKS,
  QuoteFormatError,
  TPM_GENERATED,
  TPM_ST_ATTEST_QUOTE,
  formatSelection,
  fromHex,
  parsePcrListing,
  parseQuote,
  pcrDigestOf,
  toHex,
  type PcrBank,
  type QuoteInfo,
} from './quote.js';
export {
  AttestationPolicyDocument,
  DEFAULT_POLICY_FILE,
  MAX_POLICY_BYTES,
  POLICY_FILE_NAME,
  PolicyError,
  REQUIREMENTS,
  ensurePolicyFile,
  loadPolicyFile,
  parsePolicy,
  type AttestationPolicy,
  type Requirement,
} from './policy.js';
export {
  EnrolmentProfile,
  PROFILE_DIR,
  PROFILE_FILE,
  ProfileError,
  loadProfile,
  profilePath,
  saveProfile,
} from './profile.js';
export {
  DEFAULT_AK_HANDLE,
  TPM_COMMAND_TIMEOUT_MS,
  TPM_INSTALL_HINT,
  TPM_PACKAGES,
  Tpm2Tools,
  TpmError,
  errorSummary,
  readSecureBoot,
  resolveTpm,
  runsUnderHypervisor,
  transportOf,
  type CheckResult,
  type QuoteArtifacts,
  type TpmErrorCode,
  type TpmPort,
  type TpmTarget,
  type Tpm2ToolsOptions,
} from './tpm.js';
export {
  Attestor,
  AttestorError,
  MAX_BUNDLES,
  MAX_QUEUED_RUNS,
  attestationSubject,
  type AttestorDeps,
  type AttestorErrorCode,
  type RunRequest,
  type RunResult,
  type StoredResult,
} from './attestor.js';
export { serveCommands, type CommandDeps, type ServedCommands } from './commandHandlers.js';
export { SCOPES, buildHttp, type HttpDeps } from './http.js';
export {
  hostIdOf,
  startAttestor,
  type AttestorConnection,
  type RunningAttestor,
  type StartAttestorOptions,
} from './service.js';
export {
  TPM_TOOLS,
  missingTpmTools,
  missingToolsMessage,
  startSwtpm,
  type Swtpm,
  type SwtpmOptions,
} from './swtpm.js';
export { attestationRoundTrip, type RoundTripResult } from './bench.js';

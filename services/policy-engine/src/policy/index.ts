export {
  DEFAULT_POLICY_DIR,
  MAX_CANONICAL_DOCUMENTS_LENGTH,
  MAX_POLICY_FILE_BYTES,
  MAX_PROBLEMS,
  MAX_YAML_ALIASES,
  POLICY_FILE_NAMES,
  destinationProblem,
  loadPolicyDir,
  parsePolicyDocuments,
  pathPatternProblem,
  snapshotFromDocuments,
  type PolicyFileInput,
  type PolicyLoadResult,
} from './load.js';
export {
  PolicyError,
  formatPolicyProblem,
  type PolicyErrorCode,
  type PolicyProblem,
} from './errors.js';
export {
  AGENT_MODES,
  AgentPolicySchema,
  MODEL_FORMATS,
  MainPolicySchema,
  ToolAllowEntry,
  type AgentPolicy,
  type MainPolicy,
  type PolicyDocuments,
  type PolicySnapshot,
} from './schema.js';

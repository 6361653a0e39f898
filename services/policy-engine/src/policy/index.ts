export {
  DEFAULT_POLICY_DIR,
  MAX_CANONICAL_DOCUMENTS_LENGTH,
  MAX_POLICY_FILE_BYTES,
  MAX_PROBLEMS,
  MAX_YAML_ALIASES,
  POLICY_DOCUMENT_LIMITS,
  POLICY_FILE_NAMES,
  type PolicyFileInput,
  type PolicyLoadResult,
} from './limits.js';
export { loadPolicyDir } from './read.js';
export { parsePolicyDocuments } from './parse.js';
export { snapshotFromDocuments } from './snapshot.js';
export { destinationProblem, pathPatternProblem } from './patterns.js';
export {
  POLICY_PROBLEM_CODES,
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

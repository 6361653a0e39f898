export {
  startToolFirewall,
  type RunningToolFirewall,
  type StartToolFirewallOptions,
  type ToolFirewallConnection,
} from './service.js';
export { loadConfig, type ToolFirewallConfig } from './config.js';
export { buildHttp, SCOPES, CALL_HEADERS, type HttpDeps } from './http.js';
export {
  ToolFirewallError,
  ERROR_STATUS,
  TOOL_FIREWALL_ERROR_CODES,
  type ToolFirewallErrorCode,
} from './errors.js';
export {
  Firewall,
  callerIdOf,
  newCallId,
  type CallOutcome,
  type CallRefusal,
  type CallRequest,
  type CallSuccess,
  type FirewallDeps,
} from './firewall.js';
export {
  AdapterRegistry,
  DEFAULT_ADAPTER_LIMITS,
  FILESYSTEM_ADAPTERS,
  REDACTION_MARGIN,
  openAiNameOf,
  type AdapterContext,
  type AdapterLimits,
  type AdapterOutput,
  type PathArgument,
  type ToolAdapter,
} from './adapters/index.js';
export { redact, redactValue, truncateUtf8, type Redaction } from './redact.js';
export { RateLimiter, OTHER_TOOLS, type RateLimits } from './rateLimit.js';
export { toolPolicyOf, DEFAULT_RATE_LIMITS, type ToolPolicyView } from './settings.js';
export { checkPathText, MAX_PATH_BYTES, type PathText } from './validation/pathText.js';
export { dangerOf, isPathName, normalizeName } from './validation/names.js';
export {
  ARGUMENT_LIMITS,
  checkAdapterArguments,
  checkArgumentTree,
  checkToolName,
  parseArgumentText,
} from './validation/arguments.js';
export { summarizeArguments } from './summary.js';
export {
  callLogProjection,
  firewallViewProjection,
  MAX_CALLS,
  type CallLogDocument,
  type CallView,
  type FirewallViewDocument,
} from './callLog.js';
export { engineOverNats, decisionRefOf, type DecisionAsker } from './engine.js';
export {
  openWorkspace,
  resolvePath,
  fdPath,
  WORKSPACE_DIRS,
  type ResolvedPath,
  type ResolverHooks,
  type Workspace,
} from './workspace/resolve.js';
export { LOGICAL_ROOT, toDisk, toLogical } from './workspace/logical.js';

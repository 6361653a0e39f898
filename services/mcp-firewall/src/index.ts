export {
  startMcpFirewall,
  type RunningMcpFirewall,
  type StartMcpFirewallOptions,
} from './service.js';
export { loadConfig, maxMessageBytes, type McpFirewallConfig } from './config.js';
export { buildHttp, SCOPES } from './http.js';
export { SESSION_HEADER } from './clients.js';
export {
  McpFirewallError,
  JSON_RPC_CODES,
  HTTP_STATUS,
  type McpFirewallErrorCode,
} from './errors.js';
export { firewallProjection, type FirewallDocument } from './projection.js';
export { natsDecide, type Decide, type DecideOutcome } from './decide.js';

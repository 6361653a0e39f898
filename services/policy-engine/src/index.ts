export { PolicyClient, PolicyClientError, type PolicyClientErrorCode } from './client.js';
export {
  PolicyEngine,
  VERDICT_MEMO_ENTRIES,
  domainOf,
  type DecisionOutcome,
  type EngineStats,
} from './engine.js';
export { evaluate } from './evaluate.js';
export {
  MAX_REQUEST_DEPTH,
  RefusedBody,
  nestedDeeperThan,
  normalizeRequest,
  type NormalizedRequest,
} from './normalize.js';
export type { DecisionInput, DecisionValue, TraceStep, Verdict } from './decision.js';
export { REQUIRED_STAGES } from './domains/modelPromotion.js';
export { PolicyHost, type LoadTrigger, type ReloadResult } from './policyHost.js';
export {
  recordedDecisions,
  replayDecisions,
  whatIf,
  type DecisionDifference,
  type RecordedDecision,
  type ReplayReport,
} from './replay.js';
export {
  MAX_GROUP_DATA_BYTES,
  MAX_GROUP_MEMBERS,
  groupCommitRecorder,
  streamRecorder,
  type DecisionRecorder,
  type GroupCommitOptions,
  type RecordLinks,
  type RecordedDecisionAt,
} from './decisionLog.js';
export { buildHttp, SCOPES, MAX_BATCH, type HttpDeps } from './http.js';
export { decideLinks, serveCommands } from './commandHandlers.js';
export { runPromotionConsumer, PROMOTION_DURABLE } from './consumer.js';
export { ensurePolicyDir, loadConfig, type EngineConfig } from './config.js';
export * from './policy/index.js';
export * from './match/index.js';
export { RULE_IDS, ruleIdPattern } from './ruleIds.js';

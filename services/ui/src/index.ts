export { startUi, type RunningUi, type StartUiOptions, type UiConnection } from './service.js';
export { loadConfig, DEFAULT_WEB_DIST, type UiConfig } from './config.js';
export {
  buildHttp,
  hostnameOf,
  sameOrigin,
  problem,
  SESSION_COOKIE,
  CSRF_HEADER,
  type HttpDeps,
} from './http.js';
export { Auth, newSetupCode, type AuthDeps, type NewSession } from './auth.js';
export { AuthStore, type AuthRecord } from './authStore.js';
export {
  Kdf,
  DEFAULT_SCRYPT,
  paramsAcceptable,
  type PassphraseHash,
  type ScryptParams,
} from './kdf.js';
export {
  LoginThrottle,
  DEFAULT_THROTTLE_RULES,
  clientKey,
  type LockStep,
  type ThrottleRules,
  type ThrottleVerdict,
} from './throttle.js';
export {
  DEFAULT_SESSION_LIMITS,
  refreshesSession,
  sessionInfo,
  sessionState,
  type SessionLimits,
  type SessionState,
  type SessionTimes,
} from './sessionRules.js';
export {
  SessionTable,
  MAX_SESSIONS,
  secretsEqual,
  tokenId,
  type Session,
  type SessionLookup,
} from './sessions.js';
export {
  operatorProblem,
  passphraseProblem,
  PASSPHRASE_MAX_CHARS,
  PASSPHRASE_MIN_CHARS,
  OPERATOR_MAX_CHARS,
} from './passphrasePolicy.js';
export { contentSecurityPolicy, newNonce, securityHeaders } from './securityHeaders.js';
export {
  PLACEHOLDER_PAGE,
  assetSegments,
  contentTypeOf,
  injectNonce,
  isPagePath,
} from './pageRules.js';
export { WebBundle, type Asset } from './webBundle.js';
export { BusSource, type BusCredentials, type BusSourceOptions } from './busCredentials.js';
export {
  OperatorActions,
  ACTION_TIMEOUT_MS,
  failureOf,
  refusalOf,
  type ActionDeps,
} from './operatorActions.js';
export { fetchIncidentExport, type ExportDeps, type ExportDownload } from './incidentExport.js';
export { UiError, ERROR_STATUS, UI_ERROR_CODES, type UiErrorCode } from './errors.js';
export {
  recordedDecisions,
  latestDecisions,
  parseDecisionId,
  MAX_WHAT_IF_DECISIONS,
  type RecordedDecision,
  type DecisionSource,
} from './recordedDecisions.js';
export type { WhatIfFile } from './operatorActions.js';

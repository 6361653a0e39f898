export { loadConfig, type RecorderConfig } from './config.js';
export { buildHttp, type HttpDeps } from './http.js';
export * from './sealer/decider.js';
export { startSealer, type Sealer, type SealResult } from './sealer/follower.js';

export { startInference, type RunningInference, type StartInferenceOptions } from './service.js';
export { loadConfig, type InferenceConfig } from './config.js';
export { buildHttp, SCOPES, SESSION_HEADER } from './http.js';
export { InferenceError, ERROR_STATUS, type InferenceErrorCode } from './errors.js';
export { settingsOf, DEFAULT_SETTINGS, type InferenceSettings } from './settings.js';
export { servableModels, resolveModel, type ServableModel } from './catalog.js';
export { apiKeysProjection, KEY_PREFIX, keyDigestOf, type KeysDocument } from './keys.js';
export { Admission, RETRY_AFTER_SECONDS } from './admission.js';

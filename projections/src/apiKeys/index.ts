export {
  API_KEYS,
  API_KEY_PREFIX,
  apiKeysProjection,
  validKeyDigests,
  type ApiKeyRecord,
  type ApiKeysDocument,
} from './projection.js';
export { apiKeyCaller } from './caller.js';

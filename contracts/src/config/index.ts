export { ConfigError, REDACTED, isSecretVariable, type ConfigErrorCode } from './error.js';
export {
  envBoolean,
  envEnum,
  envInteger,
  envPath,
  envString,
  readEnv,
  type EnvValues,
  type EnvVar,
  type IntegerRules,
  type StringRules,
} from './readEnv.js';
export { gatewayEnv } from './gatewayEnv.js';

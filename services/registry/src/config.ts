import { envInteger, envPath, readEnv, gatewayEnv } from '@secai/contracts';

export interface RegistryConfig {
  stateDir: string;
  host: string;
  port: number;
  /** Periodic re-hash of every model in the store; 0 = off. */
  verifyEveryMs: number;
}

/** Six hours, as the reference's integrity timer runs several times a day. */
export const DEFAULT_VERIFY_EVERY_MS = 6 * 60 * 60 * 1000;

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<RegistryConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    ...gatewayEnv('registry'),
    // setInterval takes at most 2^31-1 ms (~24.8 days).
    SECAI_REGISTRY_VERIFY_EVERY_MS: envInteger({
      min: 0,
      max: 2 ** 31 - 1,
      default: DEFAULT_VERIFY_EVERY_MS,
    }),
  });
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
    verifyEveryMs: v.SECAI_REGISTRY_VERIFY_EVERY_MS,
  });
}

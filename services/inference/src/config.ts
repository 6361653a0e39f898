import { envInteger, envPath, gatewayEnv, readEnv } from '@secai/contracts';

export interface InferenceConfig {
  stateDir: string;
  host: string;
  port: number;
  /** How often idle sessions are closed (the idle limit itself is policy). */
  sweepEveryMs: number;
}

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<InferenceConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    ...gatewayEnv('inference'),
    SECAI_INFERENCE_SWEEP_EVERY_MS: envInteger({ min: 1000, max: 3_600_000, default: 30_000 }),
  });
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
    sweepEveryMs: v.SECAI_INFERENCE_SWEEP_EVERY_MS,
  });
}

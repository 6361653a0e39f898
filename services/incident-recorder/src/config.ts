import { join } from 'node:path';
import { envInteger, envPath, readEnv, gatewayEnv } from '@secai/contracts';
import type { SealPolicy } from './sealer/decider.js';
import { DEFAULT_SEAL_POLICY } from './sealer/decider.js';

export interface RecorderConfig {
  stateDir: string;
  /** Where `incidents.yaml` lives (shared with the policy engine's files). */
  policyDir: string;
  host: string;
  port: number;
  seal: SealPolicy;
  /** `/health` is degraded above this many stored observations not yet settled. */
  maxLag: number;
}

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<RecorderConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    SECAI_POLICY_DIR: envPath(),
    ...gatewayEnv('incident-recorder'),
    SECAI_SEAL_EVERY_EVENTS: envInteger({
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
      default: DEFAULT_SEAL_POLICY.everyEvents,
    }),
    // setInterval takes at most 2^31-1 ms (~24.8 days).
    SECAI_SEAL_EVERY_MS: envInteger({
      min: 1,
      max: 2 ** 31 - 1,
      default: DEFAULT_SEAL_POLICY.everyMs,
    }),
    SECAI_RECORDER_MAX_LAG: envInteger({ min: 1, max: Number.MAX_SAFE_INTEGER, default: 1000 }),
  });
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    policyDir: v.SECAI_POLICY_DIR ?? join(v.SECAI_STATE_DIR, 'policy'),
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
    seal: { everyEvents: v.SECAI_SEAL_EVERY_EVENTS, everyMs: v.SECAI_SEAL_EVERY_MS },
    maxLag: v.SECAI_RECORDER_MAX_LAG,
  });
}

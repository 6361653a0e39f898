import { SERVICE_PORTS } from '@secai/contracts';

export interface RegistryConfig {
  stateDir: string;
  host: string;
  port: number;
  /** Periodic re-hash of every model in the store; 0 = off. */
  verifyEveryMs: number;
}

/** Six hours, as the reference's integrity timer runs several times a day. */
export const DEFAULT_VERIFY_EVERY_MS = 6 * 60 * 60 * 1000;

function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max)
    throw new Error(`${name} must be an integer in ${min}..${max}, got ${raw}`);
  return value;
}

/** Reads the environment once into a frozen config; a bad value refuses to start. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<RegistryConfig> {
  const stateDir = env.SECAI_STATE_DIR;
  if (!stateDir) throw new Error('SECAI_STATE_DIR is not set');
  return Object.freeze({
    stateDir,
    host: env.SECAI_HTTP_HOST || '127.0.0.1',
    port: integer(env, 'SECAI_HTTP_PORT', SERVICE_PORTS.registry!, 1, 65535),
    // setInterval takes at most 2^31-1 ms (~24.8 days).
    verifyEveryMs: integer(
      env,
      'SECAI_REGISTRY_VERIFY_EVERY_MS',
      DEFAULT_VERIFY_EVERY_MS,
      0,
      2 ** 31 - 1,
    ),
  });
}

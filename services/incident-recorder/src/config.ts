import { join } from 'node:path';
import { SERVICE_PORTS } from '@secai/contracts';
import type { SealPolicy } from './sealer/decider.js';
import { DEFAULT_SEAL_POLICY } from './sealer/decider.js';

export interface RecorderConfig {
  stateDir: string;
  /** Where `incidents.yaml` lives (shared with the policy engine's files). */
  policyDir: string;
  host: string;
  port: number;
  seal: SealPolicy;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** Reads the environment once into a frozen config; a bad value refuses to start. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<RecorderConfig> {
  const stateDir = env.SECAI_STATE_DIR;
  if (!stateDir) throw new Error('SECAI_STATE_DIR is not set');
  const port = positiveInt(env, 'SECAI_HTTP_PORT', SERVICE_PORTS['incident-recorder']!);
  if (port > 65535) throw new Error(`SECAI_HTTP_PORT must be a port, got ${port}`);
  return Object.freeze({
    stateDir,
    policyDir: env.SECAI_POLICY_DIR || join(stateDir, 'policy'),
    host: env.SECAI_HTTP_HOST || '127.0.0.1',
    port,
    seal: {
      everyEvents: positiveInt(env, 'SECAI_SEAL_EVERY_EVENTS', DEFAULT_SEAL_POLICY.everyEvents),
      everyMs: positiveInt(env, 'SECAI_SEAL_EVERY_MS', DEFAULT_SEAL_POLICY.everyMs),
    },
  });
}

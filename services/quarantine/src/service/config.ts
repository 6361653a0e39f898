import { availableParallelism } from 'node:os';
import { join } from 'node:path';

export interface QuarantineConfig {
  stateDir: string;
  /** Snapshots (`artifacts/<hex>/<name>`), temporary copies, signatures, the inbox. */
  quarantineDir: string;
  /** A directory watched for manual drops: `<quarantineDir>/inbox`. */
  inboxDir: string;
  /** The operator's policy directory (shared with the policy engine): policy.yaml, models.lock.yaml. */
  policyDir: string;
  /** How often the inbox is looked at; an entry must be unchanged over two looks to be claimed. */
  inboxPollMs: number;
  /** Threads the behavioural test gives llama.cpp. */
  behaviorThreads: number;
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
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<QuarantineConfig> {
  const stateDir = env.SECAI_STATE_DIR;
  if (!stateDir) throw new Error('SECAI_STATE_DIR is not set');
  const quarantineDir = env.SECAI_QUARANTINE_DIR ?? join(stateDir, 'quarantine');
  return Object.freeze({
    stateDir,
    quarantineDir,
    inboxDir: join(quarantineDir, 'inbox'),
    policyDir: env.SECAI_POLICY_DIR ?? join(stateDir, 'policy'),
    inboxPollMs: positiveInt(env, 'SECAI_INBOX_POLL_MS', 2000),
    behaviorThreads: positiveInt(
      env,
      'SECAI_BEHAVIOR_THREADS',
      Math.min(4, Math.max(1, availableParallelism() - 1)),
    ),
  });
}

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { envInteger, envPath, readEnv } from '@secai/contracts';

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

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<QuarantineConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    SECAI_QUARANTINE_DIR: envPath(),
    SECAI_POLICY_DIR: envPath(),
    SECAI_INBOX_POLL_MS: envInteger({ min: 1, max: 2 ** 31 - 1, default: 2000 }),
    SECAI_BEHAVIOR_THREADS: envInteger({
      min: 1,
      max: 1024,
      default: Math.min(4, Math.max(1, availableParallelism() - 1)),
    }),
  });
  const quarantineDir = v.SECAI_QUARANTINE_DIR ?? join(v.SECAI_STATE_DIR, 'quarantine');
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    quarantineDir,
    inboxDir: join(quarantineDir, 'inbox'),
    policyDir: v.SECAI_POLICY_DIR ?? join(v.SECAI_STATE_DIR, 'policy'),
    inboxPollMs: v.SECAI_INBOX_POLL_MS,
    behaviorThreads: v.SECAI_BEHAVIOR_THREADS,
  });
}

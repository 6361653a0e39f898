import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where the appliance keeps its identities, NATS store and runtime files:
 * `--state-dir`, else $SECAI_STATE_DIR, else /var/lib/secai for root, else
 * $XDG_STATE_HOME/secai (~/.local/state/secai).
 */
export function resolveStateDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env.SECAI_STATE_DIR) return resolve(env.SECAI_STATE_DIR);
  if (process.getuid?.() === 0) return '/var/lib/secai';
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'secai');
}

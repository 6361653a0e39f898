import { cp, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { envPath, readEnv, gatewayEnv } from '@secai/contracts';
import { DEFAULT_POLICY_DIR } from './policy/index.js';

export interface EngineConfig {
  stateDir: string;
  policyDir: string;
  host: string;
  port: number;
}

/** Reads the environment once; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<EngineConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    SECAI_POLICY_DIR: envPath(),
    ...gatewayEnv('policy-engine'),
  });
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    policyDir: v.SECAI_POLICY_DIR ?? join(v.SECAI_STATE_DIR, 'policy'),
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
  });
}

/**
 * The operator edits the policy in the state dir; the first start puts the shipped defaults
 * there. Each missing document is copied on its own (other services keep their own files in the
 * same directory and may have created it first); an existing file is never overwritten.
 */
export async function ensurePolicyDir(dir: string): Promise<'created' | 'exists'> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let created = false;
  for (const file of ['policy.yaml', 'agent.yaml', 'mcp.yaml']) {
    const target = join(dir, file);
    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    if (exists) continue;
    await cp(join(DEFAULT_POLICY_DIR, file), target, { errorOnExist: true, force: false });
    created = true;
  }
  return created ? 'created' : 'exists';
}

import { cp, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SERVICE_PORTS } from '@secai/contracts';
import { DEFAULT_POLICY_DIR } from './policy/index.js';

export interface EngineConfig {
  stateDir: string;
  policyDir: string;
  host: string;
  port: number;
}

function port(env: NodeJS.ProcessEnv): number {
  const raw = env.SECAI_HTTP_PORT;
  if (raw === undefined || raw === '') return SERVICE_PORTS['policy-engine']!;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new Error(`SECAI_HTTP_PORT must be a port, got ${raw}`);
  return value;
}

/** Reads the environment once; a bad value refuses to start. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<EngineConfig> {
  const stateDir = env.SECAI_STATE_DIR;
  if (!stateDir) throw new Error('SECAI_STATE_DIR is not set');
  return Object.freeze({
    stateDir,
    policyDir: env.SECAI_POLICY_DIR ?? join(stateDir, 'policy'),
    host: env.SECAI_HTTP_HOST ?? '127.0.0.1',
    port: port(env),
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
  for (const file of ['policy.yaml', 'agent.yaml']) {
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

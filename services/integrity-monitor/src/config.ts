import { join } from 'node:path';
import { SERVICE_PORTS } from '@secai/contracts';
import { INSTALL_DIR } from './settings.js';

export interface MonitorConfig {
  stateDir: string;
  /** Holds integrity.yaml (the policy engine's directory). */
  policyDir: string;
  /** Where the appliance's packages are installed (`${INSTALL_DIR}` in integrity.yaml). */
  installDir: string;
  host: string;
  port: number;
}

function port(env: NodeJS.ProcessEnv): number {
  const raw = env.SECAI_HTTP_PORT;
  if (raw === undefined || raw === '') return SERVICE_PORTS['integrity-monitor']!;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < 1 || value > 65535)
    throw new Error(`SECAI_HTTP_PORT must be a port, got ${raw}`);
  return value;
}

/** Reads the environment once into a frozen config; a bad value refuses to start. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<MonitorConfig> {
  const stateDir = env.SECAI_STATE_DIR;
  if (!stateDir) throw new Error('SECAI_STATE_DIR is not set');
  return Object.freeze({
    stateDir,
    policyDir: env.SECAI_POLICY_DIR || join(stateDir, 'policy'),
    installDir: env.SECAI_INSTALL_DIR || INSTALL_DIR,
    host: env.SECAI_HTTP_HOST || '127.0.0.1',
    port: port(env),
  });
}

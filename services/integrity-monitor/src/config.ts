import { join } from 'node:path';
import { envPath, readEnv, gatewayEnv } from '@secai/contracts';
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

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<MonitorConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    SECAI_POLICY_DIR: envPath(),
    SECAI_INSTALL_DIR: envPath({ default: INSTALL_DIR }),
    ...gatewayEnv('integrity-monitor'),
  });
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    policyDir: v.SECAI_POLICY_DIR ?? join(v.SECAI_STATE_DIR, 'policy'),
    installDir: v.SECAI_INSTALL_DIR,
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
  });
}

import { join } from 'node:path';
import { envInteger, envPath, gatewayEnv, readEnv } from '@secai/contracts';
import { DEFAULT_ADAPTER_LIMITS, type AdapterLimits } from './adapters/types.js';

export interface ToolFirewallConfig {
  stateDir: string;
  host: string;
  port: number;
  /** The workspace root: `/vault/...` logical paths live under it. */
  workspace: string;
  limits: AdapterLimits;
}

const MIB = 1024 * 1024;

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<ToolFirewallConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    ...gatewayEnv('tool-firewall'),
    SECAI_TOOL_WORKSPACE: envPath(),
    SECAI_TOOL_MAX_OUTPUT_BYTES: envInteger({
      min: 1024,
      max: 16 * MIB,
      default: DEFAULT_ADAPTER_LIMITS.maxOutputBytes,
    }),
    SECAI_TOOL_MAX_WRITE_BYTES: envInteger({
      min: 1024,
      max: MIB,
      default: DEFAULT_ADAPTER_LIMITS.maxWriteBytes,
    }),
    SECAI_TOOL_MAX_HASH_BYTES: envInteger({
      min: 1,
      max: 64 * 1024 * MIB,
      default: DEFAULT_ADAPTER_LIMITS.maxHashBytes,
    }),
  });
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
    workspace: v.SECAI_TOOL_WORKSPACE ?? join(v.SECAI_STATE_DIR, 'vault'),
    limits: Object.freeze({
      ...DEFAULT_ADAPTER_LIMITS,
      maxOutputBytes: v.SECAI_TOOL_MAX_OUTPUT_BYTES,
      maxWriteBytes: v.SECAI_TOOL_MAX_WRITE_BYTES,
      maxHashBytes: v.SECAI_TOOL_MAX_HASH_BYTES,
    }),
  });
}

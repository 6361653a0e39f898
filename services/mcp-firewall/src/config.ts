import { envInteger, envPath, gatewayEnv, readEnv } from '@secai/contracts';

export interface McpFirewallConfig {
  stateDir: string;
  host: string;
  port: number;
  /** Most bytes of output a client gets from one call (text past it is cut). */
  outputLimitBytes: number;
  /** How long one upstream request may take. */
  requestTimeoutMs: number;
  /** How long starting (or reaching) an upstream and its `initialize` may take. */
  connectTimeoutMs: number;
  /** A client transport unused this long is ended (its session stays resumable). */
  idleMs: number;
}

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<McpFirewallConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    ...gatewayEnv('mcp-firewall'),
    SECAI_MCP_OUTPUT_LIMIT_BYTES: envInteger({
      min: 1024,
      max: 64 * 1024 * 1024,
      default: 1024 * 1024,
    }),
    SECAI_MCP_REQUEST_TIMEOUT_MS: envInteger({ min: 1000, max: 3_600_000, default: 60_000 }),
    SECAI_MCP_CONNECT_TIMEOUT_MS: envInteger({ min: 1000, max: 600_000, default: 15_000 }),
    SECAI_MCP_IDLE_MS: envInteger({ min: 10_000, max: 86_400_000, default: 30 * 60_000 }),
  });
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
    outputLimitBytes: v.SECAI_MCP_OUTPUT_LIMIT_BYTES,
    requestTimeoutMs: v.SECAI_MCP_REQUEST_TIMEOUT_MS,
    connectTimeoutMs: v.SECAI_MCP_CONNECT_TIMEOUT_MS,
    idleMs: v.SECAI_MCP_IDLE_MS,
  });
}

/**
 * The bound on one upstream message while it is read: the output limit plus room for JSON
 * escaping and the envelope. Past it an answer is refused; between the two, its text is cut.
 */
export function maxMessageBytes(outputLimitBytes: number): number {
  return Math.ceil(outputLimitBytes * 1.25) + 64 * 1024;
}

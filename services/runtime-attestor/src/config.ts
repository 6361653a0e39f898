import { join } from 'node:path';
import { ConfigError, envInteger, envPath, envString, readEnv, gatewayEnv } from '@secai/contracts';
import { DEFAULT_AK_HANDLE } from './tpm.js';

export interface AttestorConfig {
  stateDir: string;
  /** Holds `attestation.yaml` (shared with the other policy files of the appliance). */
  policyDir: string;
  host: string;
  port: number;
  /** `SECAI_TPM_TCTI`; null: `/dev/tpmrm0` when present, else software mode; `none`: software. */
  tcti: string | null;
  /** Overrides the policy's `interval_seconds`; 0 = no periodic re-attestation; null = policy. */
  intervalMs: number | null;
  /** Persistent handle of the attestation key. */
  akHandle: string;
}

/** TCTI strings are handed to tpm2-tools as one environment value; keep them plain. */
const TCTI = /^[a-z][a-z0-9-]*(?::[A-Za-z0-9_.,=/:@-]*)?$/;

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<AttestorConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    SECAI_POLICY_DIR: envPath(),
    ...gatewayEnv('runtime-attestor'),
    SECAI_TPM_TCTI: envString({
      pattern: TCTI,
      maxLength: 512,
      expected: 'like device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321 (or none)',
    }),
    SECAI_TPM_AK_HANDLE: envString({
      default: DEFAULT_AK_HANDLE,
      pattern: /0x81[0-9a-f]{6}/i,
      expected: 'a persistent handle 0x81xxxxxx',
    }),
    // setInterval takes at most 2^31-1 ms (~24.8 days).
    SECAI_ATTEST_INTERVAL_MS: envInteger({ min: 0, max: 2 ** 31 - 1 }),
  });
  const intervalMs = v.SECAI_ATTEST_INTERVAL_MS ?? null;
  // Below a second the attestor would do nothing but quote: 0 switches it off instead.
  if (intervalMs !== null && intervalMs > 0 && intervalMs < 1000)
    throw new ConfigError(
      'CONFIG_INVALID',
      'SECAI_ATTEST_INTERVAL_MS',
      String(intervalMs),
      '0 (off) or at least 1000',
    );
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    policyDir: v.SECAI_POLICY_DIR ?? join(v.SECAI_STATE_DIR, 'policy'),
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
    tcti: v.SECAI_TPM_TCTI ?? null,
    intervalMs,
    akHandle: v.SECAI_TPM_AK_HANDLE.toLowerCase(),
  });
}

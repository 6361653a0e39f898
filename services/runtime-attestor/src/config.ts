import { join } from 'node:path';
import { SERVICE_PORTS } from '@secai/contracts';
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

function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max)
    throw new Error(`${name} must be an integer in ${min}..${max}, got ${raw}`);
  return value;
}

/** TCTI strings are handed to tpm2-tools as one environment value; keep them plain. */
const TCTI = /^[a-z][a-z0-9-]*(?::[A-Za-z0-9_.,=/:@-]*)?$/;

/** Reads the environment once into a frozen config; a bad value refuses to start. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<AttestorConfig> {
  const stateDir = env.SECAI_STATE_DIR;
  if (!stateDir) throw new Error('SECAI_STATE_DIR is not set');
  const tcti = env.SECAI_TPM_TCTI || null;
  if (tcti !== null && (tcti.length > 512 || !TCTI.test(tcti)))
    throw new Error(
      `SECAI_TPM_TCTI must look like device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321 (or none), got ${tcti}`,
    );
  const akHandle = (env.SECAI_TPM_AK_HANDLE || DEFAULT_AK_HANDLE).toLowerCase();
  if (!/^0x81[0-9a-f]{6}$/.test(akHandle))
    throw new Error(`SECAI_TPM_AK_HANDLE must be a persistent handle 0x81xxxxxx, got ${akHandle}`);
  // setInterval takes at most 2^31-1 ms (~24.8 days).
  const intervalMs = integer(env, 'SECAI_ATTEST_INTERVAL_MS', 0, 2 ** 31 - 1) ?? null;
  if (intervalMs !== null && intervalMs > 0 && intervalMs < 1000)
    throw new Error(`SECAI_ATTEST_INTERVAL_MS must be 0 (off) or at least 1000, got ${intervalMs}`);
  return Object.freeze({
    stateDir,
    policyDir: env.SECAI_POLICY_DIR || join(stateDir, 'policy'),
    host: env.SECAI_HTTP_HOST || '127.0.0.1',
    port: integer(env, 'SECAI_HTTP_PORT', 1, 65535) ?? SERVICE_PORTS['runtime-attestor']!,
    tcti,
    intervalMs,
    akHandle,
  });
}

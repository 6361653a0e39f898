import { envPath, envString, gatewayEnv, readEnv } from '@secai/contracts';
import { modelStoreRoot } from '@secai/projections';
import { DEFAULT_INFERENCE_URL } from './inferenceClient.js';

export interface WatchConfig {
  stateDir: string;
  host: string;
  port: number;
  /** Where `/sys` and `/dev` are read under (`/` on a machine; a fixture tree in tests). */
  root: string;
  /** nvidia-smi to run; null: looked for under the root (usr/bin, usr/local/bin, bin). */
  nvidiaSmi: string | null;
  /** The registry's model store. */
  modelStore: string;
  inferenceUrl: string;
  /** The `gpu/<host>` aggregate id; null: this machine's host name. */
  gpuHost: string | null;
}

/** Reads the environment once into a frozen config; a bad value throws `ConfigError`. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<WatchConfig> {
  const v = readEnv(env, {
    SECAI_STATE_DIR: envPath({ required: true }),
    ...gatewayEnv('gpu-integrity-watch'),
    SECAI_GPU_ROOT: envPath({ default: '/' }),
    SECAI_GPU_NVIDIA_SMI: envPath(),
    SECAI_GPU_MODEL_STORE: envPath(),
    SECAI_GPU_HOST: envString({
      pattern: /[A-Za-z0-9_-]{1,64}/,
      expected: 'a host id of 1-64 letters, digits, _ or -',
    }),
    SECAI_INFERENCE_URL: envString({
      default: DEFAULT_INFERENCE_URL,
      pattern: /https?:\/\/[^\s]{1,2000}/,
      expected: 'an http(s) URL',
    }),
  });
  return Object.freeze({
    stateDir: v.SECAI_STATE_DIR,
    host: v.SECAI_HTTP_HOST,
    port: v.SECAI_HTTP_PORT,
    root: v.SECAI_GPU_ROOT,
    nvidiaSmi: v.SECAI_GPU_NVIDIA_SMI ?? null,
    modelStore: v.SECAI_GPU_MODEL_STORE ?? modelStoreRoot(v.SECAI_STATE_DIR),
    inferenceUrl: v.SECAI_INFERENCE_URL,
    gpuHost: v.SECAI_GPU_HOST ?? null,
  });
}

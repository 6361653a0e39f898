import type { InferenceBackendName } from '@secai/contracts';
import type { GpuPreference } from './types.js';

// The backend rule, pure: what to ask node-llama-cpp for first, and what its answer means.
// `llama.ts` does the asking (getLlama) and carries out the choice.

/** node-llama-cpp's `gpu` option: a GPU type, its own detection, or `false` for CPU only. */
export type LlamaGpuRequest = 'auto' | 'cuda' | 'vulkan' | false;

/** The GPU types node-llama-cpp reports once loaded (`false` is CPU). */
export type LlamaGpuLoaded = false | 'cuda' | 'vulkan' | 'metal';

/** How the first attempt went: what node-llama-cpp loaded, or why it could not. */
export type BackendAttempt = { loaded: LlamaGpuLoaded } | { failed: string };

export type BackendChoice =
  | { action: 'use'; backend: InferenceBackendName }
  /** Load the CPU build instead; `message` is the line `onFallback` receives. */
  | { action: 'fall_back_to_cpu'; message: string }
  /** CPU itself was asked for and failed: nothing to fall back to. */
  | { action: 'fail'; message: string };

export function gpuRequestFor(preference: GpuPreference): LlamaGpuRequest {
  return preference === 'off' ? false : preference;
}

export function backendNameOf(loaded: LlamaGpuLoaded): InferenceBackendName {
  return loaded === false ? 'cpu' : loaded;
}

const LABELS: Record<Exclude<GpuPreference, 'off'>, string> = {
  auto: 'GPU auto-detection',
  cuda: 'the CUDA backend',
  vulkan: 'the Vulkan backend',
};

/**
 * `off` is CPU. `cuda`/`vulkan` is that backend, or CPU with a line saying what was asked and why
 * it failed. `auto` is whatever node-llama-cpp detects (CPU when it finds no GPU, which is not a
 * fallback: nothing specific was asked); only a failure of the detection itself falls back.
 */
export function chooseBackend(preference: GpuPreference, attempt: BackendAttempt): BackendChoice {
  if ('loaded' in attempt) return { action: 'use', backend: backendNameOf(attempt.loaded) };
  if (preference === 'off')
    return { action: 'fail', message: `the CPU build of node-llama-cpp failed: ${attempt.failed}` };
  return {
    action: 'fall_back_to_cpu',
    message:
      `inference.gpu is '${preference}' but ${LABELS[preference]} could not be used ` +
      `(${attempt.failed}); running on CPU`,
  };
}

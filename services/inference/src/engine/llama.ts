import { performance } from 'node:perf_hooks';
import type { InferenceBackendName } from '@secai/contracts';
import {
  getLlama,
  getLlamaGpuTypes,
  LlamaLogLevel,
  NoBinaryFoundError,
  resolveChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaModel,
} from 'node-llama-cpp';
import {
  chooseBackend,
  gpuRequestFor,
  type BackendAttempt,
  type LlamaGpuRequest,
} from './backend.js';
import { EngineError } from './errors.js';
import { LlamaLoadedModel } from './loadedModel.js';
import type { Engine, EngineOptions, LoadOptions, LoadedModel, TrustedModel } from './types.js';
import { openVerifiedModel } from './verify.js';

/**
 * node-llama-cpp with the backend `options.gpu` resolves to on this host. Only prebuilt binaries
 * are used (`build: 'never'`: nothing is compiled or downloaded at run time). A GPU backend that
 * cannot be loaded falls back to CPU and `onFallback` gets one line saying what and why.
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  if (!Number.isInteger(options.threads) || options.threads < 1)
    throw new EngineError('INVALID_REQUEST', 'threads must be a positive integer');
  const first = await tryLlama(gpuRequestFor(options.gpu));
  const choice = chooseBackend(options.gpu, first.attempt);
  switch (choice.action) {
    case 'use':
      return new LlamaEngine(first.llama as Llama, choice.backend, options.threads);
    case 'fail':
      throw new EngineError('BACKEND_UNAVAILABLE', choice.message);
    case 'fall_back_to_cpu': {
      options.onFallback?.(choice.message);
      const cpu = await tryLlama(false);
      if (cpu.llama === undefined)
        throw new EngineError(
          'BACKEND_UNAVAILABLE',
          `${choice.message}, and the CPU build failed too: ${(cpu.attempt as { failed: string }).failed}`,
        );
      return new LlamaEngine(cpu.llama, 'cpu', options.threads);
    }
  }
}

async function tryLlama(gpu: LlamaGpuRequest): Promise<{ llama?: Llama; attempt: BackendAttempt }> {
  try {
    // progressLogs off: node-llama-cpp would print its own "not compatible" lines to the console;
    // the fallback line says it once, through the service's logger.
    const llama = await getLlama({
      gpu,
      build: 'never',
      progressLogs: false,
      logLevel: LlamaLogLevel.error,
    });
    return { llama, attempt: { loaded: llama.gpu } };
  } catch (error) {
    return { attempt: { failed: await describeFailure(gpu, error) } };
  }
}

/** node-llama-cpp's error names the failure (`NoBinaryFoundError`); say what the host offers too. */
async function describeFailure(gpu: LlamaGpuRequest, error: unknown): Promise<string> {
  const what =
    error instanceof NoBinaryFoundError
      ? 'no prebuilt node-llama-cpp binary for it works here (NoBinaryFoundError)'
      : error instanceof Error
        ? error.message || error.name
        : String(error);
  if (gpu === false) return what;
  const usable = await getLlamaGpuTypes('supported').catch(() => [] as const);
  const gpus = usable.filter((t) => t !== false);
  return `${what}; GPU types node-llama-cpp can use on this host: ${gpus.length > 0 ? gpus.join(', ') : 'none'}`;
}

class LlamaEngine implements Engine {
  private readonly loaded = new Set<LlamaLoadedModel>();
  private disposed = false;

  constructor(
    private readonly llama: Llama,
    readonly backend: InferenceBackendName,
    readonly threads: number,
  ) {}

  async load(trusted: TrustedModel, options: LoadOptions): Promise<LoadedModel> {
    if (this.disposed) throw new EngineError('MODEL_UNLOADED', 'the engine was disposed');
    for (const [key, value] of [
      ['contextSize', options.contextSize],
      ['maxSequences', options.maxSequences],
    ] as const)
      if (!Number.isInteger(value) || value < 1)
        throw new EngineError('INVALID_REQUEST', `${key} must be a positive integer`);
    const started = performance.now();
    const file = await openVerifiedModel(trusted);
    let model: LlamaModel;
    try {
      model = await this.llama.loadModel({
        modelPath: file.descriptorPath,
        gpuLayers: this.backend === 'cpu' ? 0 : 'auto',
        // Read into process memory, not mapped: a later write to the stored file (same inode)
        // would otherwise show through a shared mapping into the loaded weights.
        useMmap: false,
      });
    } catch (error) {
      throw new EngineError('LOAD_FAILED', `node-llama-cpp could not load ${trusted.name}`, {
        cause: error,
      });
    } finally {
      await file.close();
    }
    let shared: LlamaContext;
    try {
      shared = await model.createContext({
        contextSize: options.contextSize,
        sequences: options.maxSequences,
        threads: this.threads,
      });
    } catch (error) {
      await model.dispose();
      throw new EngineError(
        'LOAD_FAILED',
        `no context of ${options.contextSize} × ${options.maxSequences} fits ${trusted.name}`,
        {
          cause: error,
        },
      );
    }
    const loaded: LlamaLoadedModel = new LlamaLoadedModel({
      llama: this.llama,
      model,
      // The model's own template, as node-llama-cpp resolves it (a built-in wrapper when the Jinja
      // template is one it knows, the Jinja template itself otherwise).
      chatWrapper: resolveChatWrapper(model),
      digest: trusted.digest,
      name: trusted.name,
      backend: this.backend,
      threads: this.threads,
      contextSize: shared.contextSize,
      maxSequences: options.maxSequences,
      verifiedBytes: file.verifiedBytes,
      loadMs: Math.round(performance.now() - started),
      sharedContext: shared,
      onUnloaded: () => this.loaded.delete(loaded),
    });
    this.loaded.add(loaded);
    return loaded;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([...this.loaded].map((m) => m.unload()));
    await this.llama.dispose();
  }
}

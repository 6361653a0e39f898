// Stage worker: the behavioural test (stage 6, GGUF files only), run by
// `runStage('behavioral_test', …, { timeoutMs: 600_000 })` inside the sandbox: the model is loaded
// with node-llama-cpp (CPU only, prebuilt binaries, `threads` from params, default 1), the
// adversarial suite runs, and only the score is printed, never an answer.
//
// Read-only operation (checked with strace as `nobody`): with `build: 'never'` and `gpu: false`
// node-llama-cpp only reads its package and prebuilt binary directory (it spawns one `node` child
// to test the binary) and mmaps the model read-only; it writes no cache, lock or log file, and
// HOME is never used (unset in the sandbox; os.homedir() falls back to /nonexistent). The
// download fallback is switched off anyway (there is no network in the sandbox).
//
// A thin shell: the verdict functions are in stages/behavioralTest.ts (behaviorVerdict and the
// pure choices around it); the GGUF is read within policy's bounds (`formatLimits`).
import { inspectGguf } from '@secai/formats';
import {
  behaviorContextSize,
  behaviorVerdict,
  modelLoadFailed,
  parseBehaviorParams,
} from '../stages/behavioralTest.js';
import { parseFormatLimits, readerLimitsOf } from '../stages/formatLimits.js';
import { safeText, workerOutput } from '../stages/verdict.js';
import { printVerdict, readRequest } from './io.js';

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = 'true';

const request = await readRequest<unknown>();
const parsed = parseBehaviorParams(request.params);
const formatLimits = parseFormatLimits(
  (request.params as { formatLimits?: unknown } | undefined)?.formatLimits,
);
const started = Date.now();

async function run(): Promise<Record<string, unknown>> {
  if (!parsed.ok) return { passed: false, reasonCode: 'invalid_params', detail: parsed.detail };
  if (!formatLimits.ok)
    return { passed: false, reasonCode: 'invalid_params', detail: formatLimits.detail };
  const params = parsed.params;
  const failed = (detail: string): Record<string, unknown> =>
    workerOutput(
      modelLoadFailed(detail, { duration_ms: Date.now() - started, threads: params.threads }),
    );
  if (request.kind !== 'file') return failed('the behavioural test applies to GGUF files only');
  const gguf = await inspectGguf(request.path, readerLimitsOf(formatLimits.limits).gguf);
  if (!gguf.ok) return failed(`not a loadable GGUF: ${gguf.reason}`);
  // Imported only now, after the environment above is set.
  const { runBehaviorSuite } = await import('../behavior/runner.js');
  const contextSize = behaviorContextSize(gguf.metadata.contextLength, params.contextSize);
  let outcome: Awaited<ReturnType<typeof runBehaviorSuite>>;
  try {
    outcome = await runBehaviorSuite({
      modelPath: request.path,
      threads: params.threads,
      maxTokensPerAnswer: params.maxTokensPerAnswer,
      contextSize,
    });
  } catch (err) {
    return failed(`node-llama-cpp: ${String((err as Error)?.message ?? err)}`);
  }
  const v = behaviorVerdict(
    outcome.score,
    params,
    {
      duration_ms: Date.now() - started,
      threads: params.threads,
      context_size: contextSize,
      chat_wrapper: safeText(outcome.chatWrapper, 64),
    },
    outcome.signal,
  );
  return workerOutput(v);
}

printVerdict(await run());

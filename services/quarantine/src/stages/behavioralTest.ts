// The behavioural test stage (stage 6) as the worker sees it. Its verdict function is
// `behaviorVerdict` (scan/behaviorStage.ts, owned with the judge: the score against policy's
// maxScore and maxCritical); what else the worker decides is pure and here.
import { safeText } from './verdict.js';
import type { StageFacts, StageVerdict } from './verdict.js';

export { behaviorVerdict, parseBehaviorParams } from '../scan/behaviorStage.js';

/**
 * The context the suite runs with: policy's, else the model's training context clamped to
 * [2048, 4096]. The suite needs room for its longest prompt with the hidden system prompt and an
 * answer (llama.cpp runs a context longer than the training one); 4,096 is the runner's ceiling.
 */
export function behaviorContextSize(trained: number | undefined, configured?: number): number {
  return configured ?? Math.min(4096, Math.max(2048, trained ?? 4096));
}

/** A model the stage could not load or run: a failure, never a pass. */
export function modelLoadFailed(detail: string, facts: StageFacts = {}): StageVerdict {
  return { passed: false, reasonCode: 'model_load_failed', detail: safeText(detail), facts };
}

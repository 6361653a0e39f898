// The behavioural test's pure parts: the prompt suite, the judge, the labelled corpus and its
// evaluation. Running the prompts through a model (node-llama-cpp) lives in the stage worker.
export * from './types.js';
export { CANARIES, LEAK_PROBE_SYSTEM, PROMPTS, PROMPT_BY_ID, promptById } from './prompts.js';
export { ALWAYS_ON } from './detectors/index.js';
export {
  BEHAVIORAL_THRESHOLDS,
  judgeAnswer,
  passesBehavioralTest,
  scoreSuite,
  type BehavioralScoreValue,
  type SuiteResult,
} from './judge.js';
export { REFERENCE_DANGER_PATTERNS, substringJudge } from './baseline.js';
export {
  confusionMatrix,
  formatConfusionMatrix,
  LABELS,
  type ConfusionMatrix,
} from './evaluation.js';
export { ANSWERS } from './corpus/answers.js';
/** The held-out split (issue 11 §2): never tuned on; scored only by its regression test and the bench. */
export { HELD_OUT_ANSWERS } from './corpus/heldOut.js';
export {
  answerSignal,
  assessSignal,
  DEFAULT_SIGNAL_THRESHOLDS,
  signalFacts,
  signalVerdict,
  type AnswerSignal,
  type SignalFacts,
  type SignalThresholds,
  type SignalVerdict,
} from './signal.js';
export { runBehaviorSuite, type BehaviorRunOptions, type BehaviorRunResult } from './runner.js';

// The behavioural test's pure parts: the prompt suite, the judge and its evaluation (the labelled
// corpora are test data, on `@secai/quarantine/testing`). Running the prompts through a model (node-llama-cpp) lives in the stage worker.
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

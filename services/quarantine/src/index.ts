// The quarantine zone: intake, the run machine and its decider, the sandboxed stages with their
// format parsers, scanners and behavioural judge, and the service that drives each run from its
// events (README.md).
export * from './formats/safetensors.js';
export * from './formats/pickle.js';
export * from './formats/polyglot.js';
export * from './formats/diffusers.js';
export * from './formats/gguf/index.js';
export * from './testing/ggufWriter.js';
export * from './behavior/index.js';
export * from './machine.js';
export * from './stages/hashPin.js';
export * from './stages/sourcePolicy.js';
export * from './intake/index.js';
export * from './sandbox/index.js';
export * from './scan/index.js';
export * from './stages/runStage.js';
export * from './service/index.js';
export * from './provenance/index.js';
export * from './testing/signing.js';
export { peakRssKiB } from './workers/io.js';
export { DEFAULT_NEXT_STEP, NEXT_STEPS, nextStepFor } from './answers/nextStep.js';
export { DIFFUSERS_WORDS, GGUF_WORDS, SAFETENSORS_WORDS } from './answers/formatWords.js';
export * from './stages/formatGate.js';

// The quarantine zone: intake, the run machine and its decider, the stages (run in @secai/sandbox,
// reading artifacts with @secai/formats), the scanners and behavioural judge, and the service that
// drives each run from its events (README.md). Test helpers are in `@secai/quarantine/testing`.
export * from './behavior/index.js';
export * from './machine.js';
export * from './stages/hashPin.js';
export * from './stages/sourcePolicy.js';
export * from './intake/index.js';
export * from './scan/index.js';
export * from './stages/runStage.js';
export * from './service/index.js';
export * from './provenance/index.js';
export { peakRssKiB } from './workers/io.js';
export { DEFAULT_NEXT_STEP, NEXT_STEPS, nextStepFor } from './answers/nextStep.js';
export { DIFFUSERS_WORDS, GGUF_WORDS, SAFETENSORS_WORDS } from './answers/formatWords.js';
export * from './stages/formatGate.js';

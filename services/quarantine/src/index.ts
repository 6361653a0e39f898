// The quarantine zone (issue 4). This release holds its pure building blocks: format parsers and
// validators, the pickle scanner and the behavioural judge; the stage machine and the service
// come next.
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

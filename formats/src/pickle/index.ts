// The pickle scanner, in its parts (README.md "Pickle"): what may be imported as data
// (globals.ts) and the rule that reads it (classify.ts), the opcode table (opcodes.ts), the
// simulated VM (vm.ts), and the finders of streams and zip members inside other bytes
// (embedded.ts, zip.ts). Everything here works on bytes in memory.
export { classifyPickleGlobal, isImportableGlobal } from './classify.js';
export { PICKLE_OPCODES } from './opcodes.js';
export { scanPickle } from './vm.js';
export { findEmbeddedPickles } from './embedded.js';
export type {
  EmbeddedPickle,
  EmbeddedPickleOptions,
  PickleFinding,
  PickleFindingCode,
  PickleGlobal,
  PickleRisk,
  PickleScanOptions,
  PickleScanResult,
  PickleVerdict,
} from './types.js';

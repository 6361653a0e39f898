export { buildProgram, type Io } from './program.js';
export { CliError, type CliErrorCode } from './errors.js';
// The operator's integrity ceremony as functions, for the integrity monitor's own tests.
export { integrityRebaseline, integrityScan, integrityStatus } from './commands/integrity.js';
export type { CliContext } from './context.js';

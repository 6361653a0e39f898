export { buildProgram, type Io } from './program.js';
export { CliError, type CliErrorCode } from './errors.js';

import { CommanderError } from 'commander';
import { BaseError } from '@secai/contracts';
import { CliError } from './errors.js';
import { buildProgram } from './program.js';

const io = {
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
};

const program = buildProgram(io);

try {
  await program.parseAsync(process.argv);
  process.exit(0);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors were already printed by commander.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof CliError) {
    io.err(`secai: ${err.code}: ${err.message}`);
    process.exit(err.exitCode);
  }
  if (err instanceof BaseError) {
    io.err(`secai: ${String(err.code)}: ${err.message}`);
    process.exit(2);
  }
  io.err(`secai: INTERNAL: ${(err as Error).message ?? String(err)}`);
  process.exit(2);
}

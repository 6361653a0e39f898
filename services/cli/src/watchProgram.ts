import type { Command } from 'commander';
import { globals, natsUrlOption, stateDirOption } from './options.js';
import type { Io } from './program.js';
import { watchCommand } from './watch/run.js';

/** `secai watch`: the dashboard's overview and live events, in a terminal. */
export function addWatchCommand(program: Command, io: Io): void {
  program
    .command('watch')
    .description(
      'overview and live events in the terminal, as the read-only dashboard identity; every event verified (refused ones shown as REFUSED)',
    )
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .option('--once', 'print one frame (plain text, no cursor control) and exit')
    .action(async (opts: { stateDir?: string; natsUrl?: string; once?: boolean }) => {
      const g = globals(opts);
      await watchCommand(
        {
          stateDir: g.stateDir,
          ...(g.natsUrl ? { natsUrl: g.natsUrl } : {}),
          ...(opts.once ? { once: true } : {}),
        },
        io.out,
      );
    });
}

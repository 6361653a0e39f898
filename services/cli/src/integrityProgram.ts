import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { integrityRebaseline, integrityScan, integrityStatus } from './commands/integrity.js';
import {
  connected,
  type ConnectedOptions,
  count,
  globals,
  jsonFlag,
  withContext,
} from './options.js';
import type { Io } from './program.js';

type Conn = ConnectedOptions;

const json = jsonFlag;

/** Who runs the ceremony when --operator is not given: the sudo caller, else the login user. */
export function defaultOperator(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.SUDO_USER || env.USER || env.LOGNAME;
  if (name) return name;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** `secai integrity ...`: the file integrity monitor from the operator's side. */
export function addIntegrityCommands(program: Command, io: Io): void {
  const integrity = program
    .command('integrity')
    .description(
      'file integrity: status of each path class, scan now, rebaseline (operator ceremony)',
    );

  connected(
    integrity
      .command('status')
      .description('each path class: state, baseline, and the violations reported since it')
      .addOption(
        new Option('--limit <n>', 'how many recent violations to list')
          .argParser(count)
          .default(20),
      ),
  ).action(async (opts: Conn & { limit: number }) => {
    await withContext(globals(opts), (ctx) =>
      integrityStatus(ctx, { ...json(opts), limit: opts.limit }, io.out),
    );
  });

  connected(
    integrity
      .command('scan')
      .description('scan every path class now; exit 1 when violations are open')
      .option('--reason <text>', 'why (logged by the monitor)', 'operator request'),
  ).action(async (opts: Conn & { reason: string }) => {
    await withContext(globals(opts), (ctx) =>
      integrityScan(ctx, { reason: opts.reason, ...json(opts) }, io.out),
    );
  });

  connected(
    integrity
      .command('rebaseline')
      .description(
        'accept what is on disk now as the trusted baseline of every path class (recorded with every difference accepted)',
      )
      .requiredOption(
        '--reason <text>',
        'why the differences are legitimate (recorded in the event)',
      )
      .option('--operator <name>', 'who accepts them (default: $SUDO_USER, else $USER)'),
  ).action(async (opts: Conn & { reason: string; operator?: string }) => {
    await withContext(globals(opts), (ctx) =>
      integrityRebaseline(
        ctx,
        { reason: opts.reason, operator: opts.operator ?? defaultOperator(), ...json(opts) },
        io.out,
      ),
    );
  });
}

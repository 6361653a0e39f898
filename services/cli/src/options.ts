import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolveStateDir } from '@secai/appliance';
import { CliError } from './errors.js';
import { openContext, type CliContext, type GlobalOptions } from './context.js';

// Option parsers and the connection wrapper every command group shares.

export function seq(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a positive integer (a stream sequence)');
  return n;
}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

export function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/**
 * `--from`/`--to` as a range: a start after the end is a usage error naming both values (it
 * would otherwise read nothing and exit 0, an empty success that looks like an empty history).
 */
export function checkRange(opts: { from?: number; to?: number }): void {
  if (opts.from !== undefined && opts.to !== undefined && opts.from > opts.to)
    throw new CliError(
      'USAGE',
      `--from ${opts.from} is after --to ${opts.to}: a range runs from the lower sequence to the higher`,
    );
}

export const stateDirOption = () =>
  new Option(
    '--state-dir <dir>',
    'appliance state directory (default: $SECAI_STATE_DIR, /var/lib/secai as root, else ~/.local/state/secai)',
  );
export const natsUrlOption = () =>
  new Option('--nats-url <url>', 'NATS server to use instead of the one secai boot recorded');
export const jsonOption = () =>
  new Option('--json', 'machine-readable output (JSON); no progress display');

export async function withContext<T>(
  opts: GlobalOptions,
  fn: (ctx: CliContext) => Promise<T>,
): Promise<T> {
  const ctx = await openContext(opts);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

export function globals(opts: {
  stateDir?: string;
  natsUrl?: string;
  json?: boolean;
}): GlobalOptions {
  const g: GlobalOptions = { stateDir: resolveStateDir(opts.stateDir) };
  if (opts.natsUrl) g.natsUrl = opts.natsUrl;
  if (opts.json) g.json = true;
  return g;
}

/** The options every connected command takes. */
export interface ConnectedOptions {
  stateDir?: string;
  natsUrl?: string;
  json?: boolean;
}

/** Adds `--state-dir`, `--nats-url` and `--json` to a command that talks to the appliance. */
export function connected(cmd: Command): Command {
  return cmd.addOption(stateDirOption()).addOption(natsUrlOption()).addOption(jsonOption());
}

/** `--json` as the library options spell it. */
export const jsonFlag = (opts: { json?: boolean }): { json?: true } =>
  opts.json ? { json: true } : {};

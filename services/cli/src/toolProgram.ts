import { Option, type Command } from 'commander';
import { toolArguments, toolCall, toolCallRequest, toolList, toolLog } from './commands/tool.js';
import {
  connected,
  type ConnectedOptions,
  count,
  globals,
  jsonFlag,
  natsUrlOption,
  stateDirOption,
  withContext,
} from './options.js';
import type { Io } from './program.js';

type Conn = ConnectedOptions;

const urlOption = () =>
  new Option(
    '--url <url>',
    'the tool firewall (default: $SECAI_TOOL_FIREWALL_URL, else the port secai boot recorded, else http://127.0.0.1:8475)',
  );
const collect = (value: string, previous: string[]) => [...previous, value];

/** `secai tool ...`: the tool firewall from the operator's side. */
export function addToolCommands(program: Command, io: Io): void {
  const tool = program
    .command('tool')
    .description('the tool firewall: its tools, a call through every gate, the recent calls');

  connected(
    tool
      .command('list')
      .description('the tools the firewall runs, and what the active policy says of each')
      .addOption(urlOption()),
  ).action(async (opts: Conn & { url?: string }) => {
    await withContext(globals(opts), (ctx) =>
      toolList(ctx, { ...(opts.url ? { url: opts.url } : {}), ...jsonFlag(opts) }, io.out),
    );
  });

  // `--json` here carries the arguments (`secai tool call T --json '{...}'`); `--result` prints
  // the whole result as JSON instead of the output.
  tool
    .command('call')
    .description(
      'call a tool as the cli (decided, run and recorded like any call); prints its output',
    )
    .argument('<tool>', 'e.g. filesystem.read')
    .addOption(
      new Option('--arg <name=value>', 'an argument (name:=<json> for a typed value); repeat')
        .argParser(collect)
        .default([]),
    )
    .option('--json <object>', 'all the arguments as one JSON object (instead of --arg)')
    .option('--result', 'print the whole result as JSON: call id, decisions, redactions, output')
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .addOption(urlOption())
    .action(
      async (
        name: string,
        opts: {
          arg: string[];
          json?: string;
          result?: boolean;
          url?: string;
          stateDir?: string;
          natsUrl?: string;
        },
      ) => {
        // Held to the firewall's contract before connecting: a usage error even with no appliance.
        const request = toolCallRequest(name, toolArguments(opts.arg, opts.json));
        const { json: _args, ...connection } = opts;
        await withContext(globals(connection), (ctx) =>
          toolCall(
            ctx,
            request,
            { ...(opts.url ? { url: opts.url } : {}), ...(opts.result ? { json: true } : {}) },
            io.out,
            io.err,
          ),
        );
      },
    );

  connected(
    tool
      .command('log')
      .description('the recent tool calls, newest first: who, what, and why a refusal')
      .addOption(new Option('--limit <n>', 'how many (at most 500)').argParser(count).default(50))
      .addOption(urlOption()),
  ).action(async (opts: Conn & { limit: number; url?: string }) => {
    await withContext(globals(opts), (ctx) =>
      toolLog(
        ctx,
        { limit: opts.limit, ...(opts.url ? { url: opts.url } : {}), ...jsonFlag(opts) },
        io.out,
      ),
    );
  });
}

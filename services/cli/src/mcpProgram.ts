import { Option, type Command } from 'commander';
import {
  approveRequest,
  clearTaintRequest,
  mcpApprove,
  mcpClearTaint,
  mcpServers,
  mcpSessions,
  mcpStdio,
  mcpTools,
} from './commands/mcp.js';
import { defaultOperator } from './commands/inference.js';
import { connected, type ConnectedOptions, globals, jsonFlag, withContext } from './options.js';
import type { Io } from './program.js';

type Conn = ConnectedOptions;

const urlOption = () =>
  new Option(
    '--url <url>',
    'the MCP firewall (default: $SECAI_MCP_FIREWALL_URL, else the port secai boot recorded, else http://127.0.0.1:8496)',
  );
const operatorOption = (what: string) =>
  new Option('--operator <name>', `who ${what} (recorded in the event; default: your login name)`);
const collect = (value: string, previous: string[]) => [...previous, value];
const url = (opts: { url?: string }) => (opts.url ? { url: opts.url } : {});

/** `secai mcp ...`: the MCP firewall from the operator's side. */
export function addMcpCommands(program: Command, io: Io): void {
  const mcp = program
    .command('mcp')
    .description(
      'the MCP firewall: upstream servers, tool pins, sessions and their taint, a stdio relay',
    );

  connected(
    mcp
      .command('servers')
      .description('the upstream servers the policy names')
      .addOption(urlOption()),
  ).action(async (opts: Conn & { url?: string }) => {
    await withContext(globals(opts), (ctx) =>
      mcpServers(ctx, { ...url(opts), ...jsonFlag(opts) }, io.out),
    );
  });

  connected(
    mcp
      .command('tools')
      .description(
        'every upstream tool observed: listed, changed since approved, or refused and why',
      )
      .option('--server <name>', 'only this server')
      .addOption(urlOption()),
  ).action(async (opts: Conn & { url?: string; server?: string }) => {
    await withContext(globals(opts), (ctx) =>
      mcpTools(
        ctx,
        { ...url(opts), ...jsonFlag(opts), ...(opts.server ? { server: opts.server } : {}) },
        io.out,
      ),
    );
  });

  connected(
    mcp.command('sessions').description('the MCP sessions and their taint').addOption(urlOption()),
  ).action(async (opts: Conn & { url?: string }) => {
    await withContext(globals(opts), (ctx) =>
      mcpSessions(ctx, { ...url(opts), ...jsonFlag(opts) }, io.out),
    );
  });

  connected(
    mcp
      .command('approve')
      .description(
        'pin the version of a tool the upstream shows now (recorded as mcp.tool.pinned); --all: every new clean tool of the server, for first setup',
      )
      .argument('<server>', 'the server, as the policy names it')
      .argument('[tool]', 'the tool (or --all)')
      .option('--all', 'every new clean tool of the server (a changed tool needs its own approval)')
      .option(
        '--digest <sha256:...>',
        'the digest you reviewed (secai mcp tools): refused if the upstream now shows another',
      )
      .addOption(operatorOption('approves'))
      .addOption(urlOption()),
  ).action(
    async (
      server: string,
      tool: string | undefined,
      opts: Conn & { url?: string; all?: boolean; digest?: string; operator?: string },
    ) => {
      // Held to the firewall's contract before connecting: a usage error even with no appliance.
      const request = approveRequest(server, tool, {
        operator: opts.operator ?? defaultOperator(),
        ...(opts.all ? { all: true } : {}),
        ...(opts.digest !== undefined ? { digest: opts.digest } : {}),
      });
      await withContext(globals(opts), (ctx) =>
        mcpApprove(ctx, request, { ...url(opts), ...jsonFlag(opts) }, io.out),
      );
    },
  );

  connected(
    mcp
      .command('clear-taint')
      .description("clear a session's taint (recorded as mcp.taint.cleared with who and why)")
      .argument('<session>', 'the session id (secai mcp sessions)')
      .requiredOption('--reason <text>', 'why (recorded in the event)')
      .addOption(
        new Option('--label <label>', 'only this label; repeat (default: every label)')
          .argParser(collect)
          .default([]),
      )
      .addOption(operatorOption('clears it'))
      .addOption(urlOption()),
  ).action(
    async (
      session: string,
      opts: Conn & { url?: string; reason: string; label: string[]; operator?: string },
    ) => {
      const request = clearTaintRequest({
        operator: opts.operator ?? defaultOperator(),
        reason: opts.reason,
        labels: opts.label,
      });
      await withContext(globals(opts), (ctx) =>
        mcpClearTaint(ctx, session, request, { ...url(opts), ...jsonFlag(opts) }, io.out),
      );
    },
  );

  connected(
    mcp
      .command('stdio')
      .description(
        'speak MCP on stdin/stdout and relay it to the firewall as the cli identity (for a client that launches its MCP servers as commands)',
      )
      .option('--session <id>', 'resume this firewall session (its taint included)')
      .addOption(urlOption()),
  ).action(async (opts: Conn & { url?: string; session?: string }) => {
    await withContext(globals(opts), (ctx) =>
      mcpStdio(ctx, { ...url(opts), ...(opts.session ? { session: opts.session } : {}) }, io.err),
    );
  });
}

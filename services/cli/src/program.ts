import { Command, Option } from 'commander';
import { pinnedRootKeyid } from '@secai/streams';
import { errnoCause, fsFailureCode, stateDirFailure } from './stateDir.js';
import { PROJECTIONS, projectionByName } from '@secai/projections';
import { CliError } from './errors.js';
import { SERVICES, isServiceName } from '@secai/contracts';
import { bootCommand } from './commands/boot.js';
import { revokeCommand } from './commands/revoke.js';
import { policyCheck, policyDecide, policyReplay, policyWhatIf } from './commands/policy.js';
import { exportCommand } from './commands/export.js';
import { replayCommand } from './commands/replay.js';
import { tail } from './commands/tail.js';
import { verifyBundleFile, verifyStream } from './commands/verify.js';
import { addIncidentCommands } from './incidentProgram.js';
import { addIntegrityCommands } from './integrityProgram.js';
import { addInferenceCommands } from './inferenceProgram.js';
import { addGpuCommands } from './gpuProgram.js';
import { addToolCommands } from './toolProgram.js';
import { addMcpCommands } from './mcpProgram.js';
import { addWatchCommand } from './watchProgram.js';
import { addModelCommands } from './modelProgram.js';
import { decisionRequest } from './decideRequest.js';
import {
  checkRange,
  count,
  globals,
  jsonOption,
  natsUrlOption,
  port,
  seq,
  stateDirOption,
  withContext,
} from './options.js';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** The `secai` command tree. Each action only parses options and calls a library. */
export function buildProgram(io: Io): Command {
  const program = new Command('secai')
    .description(
      'SecAI appliance: boot it, and tail, verify, replay and export its signed event history',
    )
    .version('0.1.0')
    .showHelpAfterError()
    // Before any subcommand exists, so every command inherits it: main.ts maps exits.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
    });

  program
    .command('boot')
    .description(
      'first-boot enrolment, start nats-server and every service; run until SIGINT/SIGTERM',
    )
    .addOption(stateDirOption())
    .addOption(
      new Option(
        '--nats-url <url>',
        'use an existing NATS deployment instead of starting nats-server',
      ),
    )
    .addOption(
      new Option(
        '--nats-port <port>',
        'loopback port of the appliance nats-server (0 = any free port)',
      )
        .argParser(port)
        .default(4280),
    )
    .addOption(
      new Option('--port-offset <n>', 'added to every documented HTTP port')
        .argParser(port)
        .default(0),
    )
    .option(
      '--require-attestation',
      'start nothing after the runtime attestor unless attestation satisfies policy (default: warn and run unattested)',
    )
    .addOption(jsonOption())
    .action(
      async (opts: {
        stateDir?: string;
        natsUrl?: string;
        natsPort: number;
        portOffset: number;
        requireAttestation?: boolean;
        json?: boolean;
      }) => {
        await bootCommand(
          {
            ...globals(opts),
            natsPort: opts.natsPort,
            portOffset: opts.portOffset,
            ...(opts.requireAttestation ? { requireAttestation: true } : {}),
          },
          io.out,
        );
      },
    );

  const events = program
    .command('events')
    .description('the signed event history: tail, verify, replay, export');

  events
    .command('tail')
    .description(
      'show the latest events, decoded and verified (refused envelopes are shown as REFUSED)',
    )
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .option('--type <type>', 'only events of this type, e.g. service.started')
    .option('--follow', 'keep printing new events until interrupted')
    .addOption(
      new Option('--limit <n>', 'how many past events to show').argParser(count).default(50),
    )
    .addOption(jsonOption())
    .action(
      async (opts: {
        stateDir?: string;
        natsUrl?: string;
        type?: string;
        follow?: boolean;
        limit: number;
        json?: boolean;
      }) => {
        await withContext(globals(opts), (ctx) =>
          tail(
            ctx,
            {
              limit: opts.limit,
              ...(opts.type ? { type: opts.type } : {}),
              ...(opts.follow ? { follow: true } : {}),
              ...(opts.json ? { json: true } : {}),
            },
            io.out,
          ),
        );
      },
    );

  events
    .command('verify')
    .description('recompute the hash chain and check every seal; exit 0 only if everything holds')
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .option('--signatures', 'also verify every envelope signature (slower); always on for --bundle')
    .option('--chain-only', 'with --bundle: check the chain and seals but not every signature')
    .option('--bundle <file>', 'verify an exported bundle offline (no NATS needed)')
    .option(
      '--expect-root <keyid>',
      "with --bundle: the appliance root keyid the bundle must chain to (default: this state dir's root, if any)",
    )
    .addOption(jsonOption())
    .action(
      async (opts: {
        stateDir?: string;
        natsUrl?: string;
        signatures?: boolean;
        chainOnly?: boolean;
        bundle?: string;
        expectRoot?: string;
        json?: boolean;
      }) => {
        const g = globals(opts);
        if (opts.bundle) {
          const pinnedRoot = opts.expectRoot
            ? undefined
            : await pinnedRootKeyid(g.stateDir).catch((err: unknown) => {
                // No appliance here (offline verification) is fine; an unreadable one is not.
                const errno = errnoCause(err);
                if (errno && fsFailureCode(errno.code) !== null)
                  throw stateDirFailure(g.stateDir, errno);
                return undefined;
              });
          await verifyBundleFile(
            opts.bundle,
            {
              signatures: !opts.chainOnly,
              ...(opts.json ? { json: true } : {}),
              ...(opts.expectRoot ? { expectRoot: opts.expectRoot } : {}),
              ...(pinnedRoot ? { pinnedRoot } : {}),
            },
            io.out,
          );
          return;
        }
        await withContext(g, (ctx) =>
          verifyStream(
            ctx,
            {
              ...(opts.signatures ? { signatures: true } : {}),
              ...(opts.json ? { json: true } : {}),
            },
            io.out,
          ),
        );
      },
    );

  events
    .command('replay')
    .description('rebuild a projection from scratch from the stream (or a bundle) and print it')
    .requiredOption(
      '--projection <name>',
      'projection to rebuild: service-status, event-counts, registry-manifest',
    )
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .addOption(new Option('--from <seq>', 'first stream sequence').argParser(seq))
    .addOption(new Option('--to <seq>', 'last stream sequence (inclusive)').argParser(seq))
    .option('--bundle <file>', 'replay from an exported bundle instead of the stream')
    .addOption(jsonOption())
    .action(
      async (opts: {
        projection: string;
        stateDir?: string;
        natsUrl?: string;
        from?: number;
        to?: number;
        bundle?: string;
        json?: boolean;
      }) => {
        checkRange(opts);
        const replayOpts = {
          projection: opts.projection,
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          ...(opts.bundle ? { bundle: opts.bundle } : {}),
          ...(opts.json ? { json: true } : {}),
        };
        if (!projectionByName(opts.projection)) {
          throw new CliError(
            'UNKNOWN_PROJECTION',
            `no projection called ${opts.projection}; known: ${Object.keys(PROJECTIONS).join(', ')}`,
          );
        }
        if (opts.bundle) return replayCommand(null, replayOpts, io.out);
        return withContext(globals(opts), (ctx) => replayCommand(ctx, replayOpts, io.out));
      },
    );

  events
    .command('export')
    .description(
      'seal the tail and write a self-contained bundle that verifies with no NATS running',
    )
    .requiredOption('--out <file>', 'bundle file to write (JSON Lines)')
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .addOption(
      new Option(
        '--from <seq>',
        'first stream sequence (widened back to the nearest seal)',
      ).argParser(seq),
    )
    .addOption(new Option('--to <seq>', 'last stream sequence (inclusive)').argParser(seq))
    .option('--no-seal', 'do not ask the incident recorder to seal the tail first')
    .addOption(jsonOption())
    .action(
      async (opts: {
        out: string;
        stateDir?: string;
        natsUrl?: string;
        from?: number;
        to?: number;
        seal: boolean;
        json?: boolean;
      }) => {
        await withContext(globals(opts), (ctx) =>
          exportCommand(
            ctx,
            {
              out: opts.out,
              seal: opts.seal,
              ...(opts.from ? { from: opts.from } : {}),
              ...(opts.to ? { to: opts.to } : {}),
              ...(opts.json ? { json: true } : {}),
            },
            io.out,
            io.err,
          ),
        );
      },
    );

  const identity = program
    .command('identity')
    .description('service identities: revoke a compromised certificate');
  identity
    .command('revoke')
    .description(
      'revoke a service certificate: its events from the next stream sequence on are refused everywhere',
    )
    .argument('<service>', 'service whose certificate to revoke, e.g. registry')
    .requiredOption('--reason <text>', 'why (recorded in the identity.revoked event)')
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .addOption(jsonOption())
    .action(
      async (
        service: string,
        opts: { reason: string; stateDir?: string; natsUrl?: string; json?: boolean },
      ) => {
        if (!isServiceName(service))
          throw new CliError('USAGE', `unknown service ${service}; known: ${SERVICES.join(', ')}`);
        if (opts.reason.trim() === '' || opts.reason.length > 512)
          throw new CliError('USAGE', '--reason must be 1 to 512 characters');
        await revokeCommand({ ...globals(opts), service, reason: opts.reason }, io.out);
      },
    );

  const policy = program
    .command('policy')
    .description(
      'the policy engine: check a policy, replay recorded decisions, what-if a candidate',
    );
  policy
    .command('check')
    .description(
      'validate a policy directory (or its policy.yaml / agent.yaml); exit 0 only if valid',
    )
    .argument('<path>', 'policy directory, or a policy.yaml / agent.yaml in it')
    .addOption(jsonOption())
    .action(async (path: string, opts: { json?: boolean }) => {
      await policyCheck(path, opts.json ? { json: true } : {}, io.out);
    });
  policy
    .command('decide')
    .description(
      'ask the live policy engine for a decision (recorded like any other), and show why',
    )
    .requiredOption(
      '--domain <domain>',
      'tool_access, path_access, egress, agent_risk, sensitivity, model_promotion',
    )
    .requiredOption(
      '--subject <subject>',
      'the tool, path, URL, agent action or sensitivity level asked about',
    )
    .option('--action <action>', 'read or write for path_access')
    .option('--path <path>', 'the path a tool_access call touches')
    .option('--method <method>', 'the HTTP method of an egress request (default GET)')
    .option('--ceiling <level>', 'the sensitivity ceiling')
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .addOption(jsonOption())
    .action(
      async (opts: {
        domain: string;
        subject: string;
        action?: string;
        path?: string;
        method?: string;
        ceiling?: string;
        stateDir?: string;
        natsUrl?: string;
        json?: boolean;
      }) => {
        const { stateDir: _s, natsUrl: _n, json, ...decide } = opts;
        // Checked against the contract before connecting: a usage error even with no appliance.
        const request = decisionRequest(decide);
        await withContext(globals(opts), (ctx) =>
          policyDecide(ctx, request, json ? { json } : {}, io.out),
        );
      },
    );
  policy
    .command('replay')
    .description(
      're-evaluate recorded decisions under the policy each was made with; exit 1 on any difference',
    )
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .addOption(new Option('--from <seq>', 'first stream sequence').argParser(seq))
    .addOption(new Option('--to <seq>', 'last stream sequence (inclusive)').argParser(seq))
    .addOption(jsonOption())
    .action(
      async (opts: {
        stateDir?: string;
        natsUrl?: string;
        from?: number;
        to?: number;
        json?: boolean;
      }) => {
        checkRange(opts);
        await withContext(globals(opts), (ctx) =>
          policyReplay(
            ctx,
            {
              ...(opts.from ? { from: opts.from } : {}),
              ...(opts.to ? { to: opts.to } : {}),
              ...(opts.json ? { json: true } : {}),
            },
            io.out,
          ),
        );
      },
    );
  policy
    .command('what-if')
    .description(
      'evaluate recorded decisions under a candidate policy and list every decision that would change',
    )
    .requiredOption('--policy <dir>', 'candidate policy directory (policy.yaml + agent.yaml)')
    .addOption(stateDirOption())
    .addOption(natsUrlOption())
    .addOption(new Option('--from <seq>', 'first stream sequence').argParser(seq))
    .addOption(new Option('--to <seq>', 'last stream sequence (inclusive)').argParser(seq))
    .addOption(jsonOption())
    .action(
      async (opts: {
        policy: string;
        stateDir?: string;
        natsUrl?: string;
        from?: number;
        to?: number;
        json?: boolean;
      }) => {
        checkRange(opts);
        await withContext(globals(opts), (ctx) =>
          policyWhatIf(
            ctx,
            {
              policy: opts.policy,
              ...(opts.from ? { from: opts.from } : {}),
              ...(opts.to ? { to: opts.to } : {}),
              ...(opts.json ? { json: true } : {}),
            },
            io.out,
          ),
        );
      },
    );

  addModelCommands(program, io);
  addIncidentCommands(program, io);
  addIntegrityCommands(program, io);
  addInferenceCommands(program, io);
  addGpuCommands(program, io);
  addToolCommands(program, io);
  addMcpCommands(program, io);
  addWatchCommand(program, io);
  return program;
}

import { Option, type Command } from 'commander';
import { INCIDENT_CLASSES, INCIDENT_SEVERITIES } from '@secai/contracts';
import { INCIDENT_STATES } from '@secai/contracts';
import { incidentExport, incidentList, incidentShow, incidentStep } from './commands/incident.js';
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
const urlOption = () =>
  new Option(
    '--url <url>',
    'the incident recorder gateway (default: $SECAI_INCIDENT_RECORDER_URL, else http://127.0.0.1:8515)',
  );

/** `secai incident ...`: the incident lifecycle from the operator's side (incident recorder). */
export function addIncidentCommands(program: Command, io: Io): void {
  const incident = program
    .command('incident')
    .description('incidents: list, show, resolve (recovery ceremony), acknowledge, export');

  connected(
    incident
      .command('list')
      .description('incidents, most severe and newest first')
      .addOption(new Option('--state <state>', 'only in this state').choices([...INCIDENT_STATES]))
      .addOption(new Option('--class <class>', 'only of this class').choices([...INCIDENT_CLASSES]))
      .addOption(
        new Option('--severity <severity>', 'only of this severity').choices([
          ...INCIDENT_SEVERITIES,
        ]),
      )
      .addOption(new Option('--limit <n>', 'at most this many').argParser(count).default(200))
      .addOption(urlOption()),
  ).action(
    async (
      opts: Conn & {
        state?: string;
        class?: string;
        severity?: string;
        limit: number;
        url?: string;
      },
    ) => {
      await withContext(globals(opts), (ctx) =>
        incidentList(
          ctx,
          {
            limit: opts.limit,
            ...(opts.state ? { state: opts.state } : {}),
            ...(opts.class ? { class: opts.class } : {}),
            ...(opts.severity ? { severity: opts.severity } : {}),
            ...(opts.url ? { url: opts.url } : {}),
            ...json(opts),
          },
          io.out,
        ),
      );
    },
  );

  connected(
    incident
      .command('show')
      .description('one incident: containment, ceremony and its full event timeline')
      .argument('<id>', 'incident id (INC-...)')
      .addOption(urlOption()),
  ).action(async (id: string, opts: Conn & { url?: string }) => {
    await withContext(globals(opts), (ctx) =>
      incidentShow(ctx, id, { ...(opts.url ? { url: opts.url } : {}), ...json(opts) }, io.out),
    );
  });

  for (const [name, step, what] of [
    [
      'resolve',
      'resolve',
      'resolve once the recovery ceremony holds (critical and latched incidents need a fresh attestation, asked of the runtime attestor); exit 2 when refused',
    ],
    ['ack', 'acknowledge', 'acknowledge a resolved incident (the last step); exit 2 when refused'],
  ] as const) {
    connected(
      incident
        .command(name)
        .description(what)
        .argument('<id>', 'incident id (INC-...)')
        .requiredOption('--operator <name>', 'who does it (recorded in the event)')
        .option('--note <text>', 'what they say (recorded in the event)')
        .addOption(
          new Option('--timeout <seconds>', 'how long to wait for the answer')
            .argParser(count)
            .default(60),
        ),
    ).action(
      async (id: string, opts: Conn & { operator: string; note?: string; timeout: number }) => {
        await withContext(globals(opts), (ctx) =>
          incidentStep(
            ctx,
            step,
            id,
            {
              operator: opts.operator,
              timeoutSeconds: opts.timeout,
              ...(opts.note !== undefined ? { note: opts.note } : {}),
              ...json(opts),
            },
            io.out,
          ),
        );
      },
    );
  }

  connected(
    incident
      .command('export')
      .description(
        "write the incident, its causes and the containment targets' events as a bundle that secai events verify --bundle checks offline",
      )
      .argument('<id>', 'incident id (INC-...)')
      .requiredOption('--out <file>', 'bundle file to write (never overwritten)')
      .addOption(urlOption()),
  ).action(async (id: string, opts: Conn & { out: string; url?: string }) => {
    await withContext(globals(opts), (ctx) =>
      incidentExport(
        ctx,
        id,
        { out: opts.out, ...(opts.url ? { url: opts.url } : {}), ...json(opts) },
        io.out,
      ),
    );
  });
}

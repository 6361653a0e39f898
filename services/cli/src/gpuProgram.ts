import { Option, type Command } from 'commander';
import { baselineRequest, gpuBaseline, gpuCheck, gpuStatus } from './commands/gpu.js';
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
    'the GPU integrity watch (default: $SECAI_GPU_WATCH_URL, else the port secai boot recorded, else http://127.0.0.1:8495)',
  );
const timeoutOption = () =>
  new Option('--timeout <seconds>', 'how long to wait for the cycle to be recorded')
    .argParser(count)
    .default(120);

/** `secai gpu ...`: the GPU integrity watch from the operator's side. */
export function addGpuCommands(program: Command, io: Io): void {
  const gpu = program
    .command('gpu')
    .description('the GPU integrity watch: its verdict, a check now, the baseline ceremony');

  connected(
    gpu
      .command('status')
      .description(
        'the latest verdict, its probes and anomalies, the trend, the baseline, the policy',
      )
      .addOption(urlOption()),
  ).action(async (opts: Conn & { url?: string }) => {
    await withContext(globals(opts), (ctx) =>
      gpuStatus(ctx, { ...(opts.url ? { url: opts.url } : {}), ...json(opts) }, io.out),
    );
  });

  connected(
    gpu
      .command('check')
      .description(
        'run every probe now and record the cycle; exit 0 only if the verdict is healthy',
      )
      .addOption(timeoutOption())
      .addOption(urlOption()),
  ).action(async (opts: Conn & { url?: string; timeout: number }) => {
    await withContext(globals(opts), (ctx) =>
      gpuCheck(
        ctx,
        { timeoutSeconds: opts.timeout, ...(opts.url ? { url: opts.url } : {}), ...json(opts) },
        io.out,
      ),
    );
  });

  connected(
    gpu
      .command('baseline')
      .description(
        'the baseline ceremony: capture what later cycles compare with (recorded as gpu.baseline.captured)',
      )
      .requiredOption('--operator <name>', 'who does it (recorded in the event)')
      .requiredOption('--reason <text>', 'why, e.g. a driver upgrade (recorded in the event)')
      .addOption(timeoutOption())
      .addOption(urlOption()),
  ).action(
    async (opts: Conn & { operator: string; reason: string; url?: string; timeout: number }) => {
      // Held to the watch's contract before connecting: a usage error even with no appliance.
      const request = baselineRequest(opts.operator, opts.reason);
      await withContext(globals(opts), (ctx) =>
        gpuBaseline(
          ctx,
          request,
          { timeoutSeconds: opts.timeout, ...(opts.url ? { url: opts.url } : {}), ...json(opts) },
          io.out,
        ),
      );
    },
  );
}

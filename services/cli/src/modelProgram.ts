import { Option, type Command } from 'commander';
import { modelImport, modelList, modelRemove, modelShow, modelVerify } from './commands/model.js';
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

/** `secai model ...`: the supply chain from the operator's side (quarantine and registry). */
export function addModelCommands(program: Command, io: Io): void {
  const model = program
    .command('model')
    .description('import models through quarantine; list, show, verify, contain and remove them');

  connected(
    model
      .command('import')
      .description(
        'quarantine a GGUF or safetensors file or a diffusers directory; exit 0 when promoted, 1 when rejected',
      )
      .argument('<path>', 'the file or directory (the quarantine service reads it)')
      .option('--name <name>', 'the name the registry shows (default: the file name)')
      .option('--source <url>', 'where it was downloaded from (https; checked against policy)')
      .option('--revision <sha>', 'the 40-hex revision it was downloaded at')
      .option('--signature <file>', 'an OpenSSF model-signing bundle for a single file')
      .option('--no-wait', 'return once acquired, without following the stages')
      .addOption(
        new Option('--timeout <seconds>', 'how long to follow the run')
          .argParser(count)
          .default(1800),
      ),
  ).action(
    async (
      path: string,
      opts: Conn & {
        name?: string;
        source?: string;
        revision?: string;
        signature?: string;
        wait: boolean;
        timeout: number;
      },
    ) => {
      await withContext(globals(opts), (ctx) =>
        modelImport(
          ctx,
          path,
          {
            ...(opts.name !== undefined ? { name: opts.name } : {}),
            ...(opts.source !== undefined ? { source: opts.source } : {}),
            ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
            ...(opts.signature !== undefined ? { signature: opts.signature } : {}),
            wait: opts.wait,
            timeoutSeconds: opts.timeout,
            ...json(opts),
          },
          io.out,
        ),
      );
    },
  );

  connected(
    model
      .command('list')
      .description('models in the registry (available ones; --all adds contained ones)')
      .option('--all', 'also models that are contained or failed verification'),
  ).action(async (opts: Conn & { all?: boolean }) => {
    await withContext(globals(opts), (ctx) =>
      modelList(ctx, { ...json(opts), ...(opts.all ? { all: true } : {}) }, io.out),
    );
  });

  connected(
    model
      .command('show')
      .description('one model: manifest entry, pin, provenance and its quarantine stages')
      .argument('<model>', 'digest (or a unique 12+ hex prefix) or name'),
  ).action(async (ref: string, opts: Conn) => {
    await withContext(globals(opts), (ctx) => modelShow(ctx, ref, json(opts), io.out));
  });

  connected(
    model
      .command('verify')
      .description('re-hash the stored model against its digest; exit 1 when it does not match')
      .argument('<model>', 'digest (or a unique 12+ hex prefix) or name')
      .addOption(
        new Option('--timeout <seconds>', 'how long to wait').argParser(count).default(3600),
      ),
  ).action(async (ref: string, opts: Conn & { timeout: number }) => {
    await withContext(globals(opts), (ctx) =>
      modelVerify(ctx, ref, { ...json(opts), timeoutSeconds: opts.timeout }, io.out),
    );
  });

  for (const [name, contain, what] of [
    ['remove', false, 'delete the model from the registry'],
    ['contain', true, 'move the model out of service into containment'],
  ] as const) {
    connected(
      model
        .command(name)
        .description(what)
        .argument('<model>', 'digest (or a unique 12+ hex prefix) or name')
        .requiredOption('--reason <text>', 'why (recorded in the event)'),
    ).action(async (ref: string, opts: Conn & { reason: string }) => {
      await withContext(globals(opts), (ctx) =>
        modelRemove(ctx, ref, { reason: opts.reason, contain, ...json(opts) }, io.out),
      );
    });
  }
}

import { InvalidArgumentError, Option, type Command } from 'commander';
import { chat } from './commands/chat.js';
import { chatSampling, jsonView, textView } from './commands/chatLines.js';
import {
  createKeyRequest,
  defaultOperator,
  inferenceKeyCreate,
  inferenceKeyList,
  inferenceKeyRevoke,
  inferenceStatus,
  revokeKeyRequest,
} from './commands/inference.js';
import { connected, type ConnectedOptions, globals, jsonFlag, withContext } from './options.js';
import type { Io } from './program.js';

type Conn = ConnectedOptions;

const json = jsonFlag;
const urlOption = () =>
  new Option(
    '--url <url>',
    'the inference service (default: $SECAI_INFERENCE_URL, else the port secai boot recorded, else http://127.0.0.1:8465)',
  );
const operatorOption = (what: string) =>
  new Option('--operator <name>', `who ${what} (recorded in the event; default: your login name)`);

/** A number as typed; its range is the contract's, checked with the other options. */
function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new InvalidArgumentError('must be a number');
  return n;
}

/** `secai chat` and `secai inference ...`: the inference service from the operator's side. */
export function addInferenceCommands(program: Command, io: Io): void {
  connected(
    program
      .command('chat')
      .description(
        'chat with a trusted model, the answer streamed as it is written; /reset starts over, /exit ends (reads lines from stdin when it is not a terminal)',
      )
      .argument('[model]', 'the model (its id, name or digest); default: the only one served')
      .addOption(
        new Option('--max-tokens <n>', 'at most this many tokens an answer').argParser(number),
      )
      .addOption(new Option('--temperature <t>', 'sampling temperature, 0 to 2').argParser(number))
      .option('--system <text>', 'a system prompt at the head of the conversation')
      .addOption(urlOption()),
  ).action(
    async (
      model: string | undefined,
      opts: Conn & { maxTokens?: number; temperature?: number; system?: string; url?: string },
    ) => {
      // Checked before connecting: a usage error even with no appliance.
      const sampling = chatSampling(model, opts);
      const interactive = process.stdin.isTTY === true && !opts.json;
      await withContext(globals(opts), (ctx) =>
        chat(
          ctx,
          {
            sampling,
            ...(model !== undefined ? { model } : {}),
            ...(opts.system !== undefined ? { system: opts.system } : {}),
            ...(opts.url !== undefined ? { url: opts.url } : {}),
          },
          {
            input: process.stdin,
            output: process.stdout,
            interactive,
            view: opts.json
              ? jsonView(io.out)
              : textView((text) => process.stdout.write(text), io.err),
          },
        ),
      );
    },
  );

  const inference = program
    .command('inference')
    .description('the inference service: status, and the API keys of your own OpenAI clients');

  connected(
    inference
      .command('status')
      .description('the models it serves and which are loaded, sessions, requests, memory')
      .addOption(urlOption()),
  ).action(async (opts: Conn & { url?: string }) => {
    await withContext(globals(opts), (ctx) =>
      inferenceStatus(ctx, { ...(opts.url ? { url: opts.url } : {}), ...json(opts) }, io.out),
    );
  });

  const key = inference
    .command('key')
    .description('API keys for OpenAI clients (shown once, kept as a hash, revocable)');

  connected(
    key
      .command('create')
      .description('make an API key; it is printed once and can never be shown again')
      .requiredOption(
        '--name <name>',
        'what the key is for, e.g. laptop (letters, digits, - and _)',
      )
      .addOption(operatorOption('makes it'))
      .addOption(urlOption()),
  ).action(async (opts: Conn & { name: string; operator?: string; url?: string }) => {
    // Held to the service's contract before connecting: a usage error even with no appliance.
    const request = createKeyRequest(opts.name, opts.operator ?? defaultOperator());
    await withContext(globals(opts), (ctx) =>
      inferenceKeyCreate(
        ctx,
        request,
        { ...(opts.url ? { url: opts.url } : {}), ...json(opts) },
        io.out,
        io.err,
      ),
    );
  });

  connected(
    key
      .command('list')
      .description('the API keys: names, hints, who made them, revoked or not (never the keys)')
      .addOption(urlOption()),
  ).action(async (opts: Conn & { url?: string }) => {
    await withContext(globals(opts), (ctx) =>
      inferenceKeyList(ctx, { ...(opts.url ? { url: opts.url } : {}), ...json(opts) }, io.out),
    );
  });

  connected(
    key
      .command('revoke')
      .description('revoke an API key: it opens nothing from then on')
      .argument('<name>', 'the key name')
      .option('--reason <text>', 'why (recorded in the event)')
      .addOption(operatorOption('revokes it'))
      .addOption(urlOption()),
  ).action(
    async (name: string, opts: Conn & { reason?: string; operator?: string; url?: string }) => {
      const request = revokeKeyRequest(name, opts.operator ?? defaultOperator(), opts.reason);
      await withContext(globals(opts), (ctx) =>
        inferenceKeyRevoke(
          ctx,
          name,
          request,
          { ...(opts.url ? { url: opts.url } : {}), ...json(opts) },
          io.out,
        ),
      );
    },
  );
}

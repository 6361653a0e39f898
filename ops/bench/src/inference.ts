import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaChat } from 'node-llama-cpp';
import OpenAI from 'openai';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { issueBearerToken, type CloudEvent, type EventData } from '@secai/contracts';
import { writeTinyLlamaGguf } from '@secai/formats/testing';
import { startInference } from '@secai/inference';
import { DEFAULT_POLICY_DIR, PolicyEngine, PolicyHost } from '@secai/policy-engine';
import { startRegistry } from '@secai/registry';
import { sendCommand } from '@secai/streams';
import { startTestAppliance, waitFor } from '@secai/streams/testing';
import type { Row } from './report.js';
import { median, percentile } from './stats.js';

// (j) Inference (issue 12 §4): tokens per second through the OpenAI API (streaming, the `openai`
// client) against node-llama-cpp called directly in this process, on the same model with the same
// threads and the same greedy tokens; time to first token both ways; four sessions at once
// against one; and how long a containment takes to unload the model and end its streams.

export const INFERENCE_FLOOR = 0.9;
export const INFERENCE_GOAL = 0.97;

export interface InferenceBenchOptions {
  runs: number;
  /** Tokens asked for per run (greedy; the count each run produced is what its rate divides). */
  tokens: number;
  containments: number;
  threads: number;
  log: (message: string) => void;
}

export interface InferenceFigures {
  model: { nEmbd: number; nLayer: number; sizeBytes: number };
  threads: number;
  tokens: number;
  runs: number;
  directTokensPerSecond: number[];
  apiTokensPerSecond: number[];
  directTtftMs: number[];
  apiTtftMs: number[];
  /** Median of the per-pair ratios (each API run beside the direct run before it). */
  ratio: number;
  oneSessionTokensPerSecond: number;
  fourSessionsTokensPerSecond: number;
  concurrencyRatio: number;
  /** From the registry's `model.contained` to inference's `inference.model.unloaded` (event times). */
  unloadMs: number[];
  /** From sending `registry.quarantine_model` to the client seeing its stream end with MODEL_CONTAINED. */
  streamEndMs: number[];
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PROMPT = 'Write a long story about the sea.';

export async function inferenceBench(options: InferenceBenchOptions): Promise<InferenceFigures> {
  const { log, threads } = options;
  const quiet = pino({ level: 'silent' });
  const app = await startTestAppliance();
  const dir = await mkdtemp(join(tmpdir(), 'secai-bench-inference-'));
  const contextSize = Math.max(2048, options.tokens * 2);
  try {
    const policyDir = join(dir, 'policy');
    await cp(DEFAULT_POLICY_DIR, policyDir, { recursive: true });
    const file = join(policyDir, 'policy.yaml');
    const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    doc.inference = {
      gpu: 'off',
      threads,
      context_size: contextSize,
      max_sessions: 4,
      queue_length: 8,
      max_tokens: options.tokens,
    };
    await writeFile(file, stringify(doc));
    const policy = new PolicyHost(
      new PolicyEngine(),
      (await app.client('policy-engine')).store,
      policyDir,
      quiet,
    );
    if (!(await policy.reload('startup')).ok) throw new Error('the bench policy was refused');
    const registry = await startRegistry(await app.client('registry'), {
      stateDir: dir,
      verifyEveryMs: 0,
      log: quiet,
    });
    const inference = await startInference(await app.client('inference'), {
      stateDir: dir,
      log: quiet,
      sweepEveryMs: 0,
    });
    const address = await inference.http.listen({ host: '127.0.0.1', port: 0 });
    const quarantine = await app.client('quarantine');
    const client = new OpenAI({
      apiKey: issueBearerToken(app.pki.signerFor('ui'), {
        audience: 'inference',
        now: new Date(),
        ttlSeconds: 3600,
      }),
      baseURL: `${address}/v1`,
      maxRetries: 0,
    });

    const shape = { nEmbd: 256, nLayer: 4, nHead: 4, nFf: 512 };
    const store = async (name: string, seed: number) => {
      const staging = join(dir, `${name}.gguf`);
      // 'endless': greedy never picks an end token, so both paths generate exactly `tokens`.
      await writeTinyLlamaGguf(staging, {
        ...shape,
        seed,
        contextLength: contextSize,
        output: 'endless',
      });
      const bytes = await readFile(staging);
      const hex = sha(bytes);
      const artifacts = join(dir, 'quarantine', 'artifacts', hex);
      await mkdir(artifacts, { recursive: true });
      await writeFile(join(artifacts, 'model.gguf'), bytes, { mode: 0o444 });
      await chmod(artifacts, 0o555);
      const data: EventData<'model.promoted'> = {
        decisionId: `bench-${hex.slice(0, 8)}`,
        name,
        fileName: 'model.gguf',
        format: 'gguf',
        digest: `sha256:${hex}`,
        sizeBytes: bytes.length,
        policyDigest: `sha256:${'00'.repeat(32)}`,
      };
      await quarantine.store.append([{ type: 'model.promoted', aggregateId: hex, data }], {
        expectedSequence: 'any',
      });
      await waitFor(
        () => inference.manifest.runner.document.models[hex]?.status === 'available',
        30_000,
        name,
      );
      return { name, hex, staging, sizeBytes: bytes.length };
    };
    const model = await store('bench-model', 5);

    // The direct path: the same file, threads, context and greedy tokens, in this process.
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    const direct = await llama.loadModel({ modelPath: model.staging, gpuLayers: 0 });
    const context = await direct.createContext({ contextSize, threads, sequences: 1 });
    const chat = new LlamaChat({ contextSequence: context.getSequence() });

    const runDirect = async () => {
      await chat.sequence.clearHistory();
      const started = performance.now();
      let first: number | null = null;
      const result = await chat.generateResponse(
        [
          { type: 'user', text: PROMPT },
          { type: 'model', response: [] },
        ],
        {
          maxTokens: options.tokens,
          temperature: 0,
          onToken: () => {
            first ??= performance.now();
          },
        },
      );
      const seconds = (performance.now() - started) / 1000;
      const tokens = direct.tokenize(result.response).length;
      return {
        tokensPerSecond: tokens / seconds,
        ttftMs: (first ?? performance.now()) - started,
        tokens,
      };
    };
    const runApi = async () => {
      const started = performance.now();
      let first: number | null = null;
      let completion = 0;
      const stream = await client.chat.completions.create({
        model: model.name,
        messages: [{ role: 'user', content: PROMPT }],
        max_tokens: options.tokens,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) first ??= performance.now();
        if (chunk.usage) completion = chunk.usage.completion_tokens;
      }
      const seconds = (performance.now() - started) / 1000;
      return {
        tokensPerSecond: completion / seconds,
        ttftMs: (first ?? performance.now()) - started,
        tokens: completion,
      };
    };

    log(`inference: warming up (${options.tokens} tokens, ${threads} threads)`);
    await runDirect();
    await runApi();
    const figures = {
      directTokensPerSecond: [] as number[],
      apiTokensPerSecond: [] as number[],
      directTtftMs: [] as number[],
      apiTtftMs: [] as number[],
      ratios: [] as number[],
    };
    for (let i = 0; i < options.runs; i++) {
      const d = await runDirect();
      const a = await runApi();
      figures.directTokensPerSecond.push(d.tokensPerSecond);
      figures.apiTokensPerSecond.push(a.tokensPerSecond);
      figures.directTtftMs.push(d.ttftMs);
      figures.apiTtftMs.push(a.ttftMs);
      figures.ratios.push(a.tokensPerSecond / d.tokensPerSecond);
      log(
        `inference run ${i + 1}: direct ${d.tokensPerSecond.toFixed(0)} tok/s (${d.tokens}), api ${a.tokensPerSecond.toFixed(0)} tok/s (${a.tokens})`,
      );
    }
    chat.dispose();
    await context.dispose();
    await direct.dispose();
    await llama.dispose();

    // Four sessions at once against one: aggregate tokens per second.
    const aggregate = async (parallel: number) => {
      const started = performance.now();
      const counts = await Promise.all(Array.from({ length: parallel }, () => runApi()));
      return counts.reduce((n, r) => n + r.tokens, 0) / ((performance.now() - started) / 1000);
    };
    const one = median(await sequential(options.runs, () => aggregate(1)));
    const four = median(await sequential(options.runs, () => aggregate(4)));

    // Containment: model.contained → unloaded and the streams in flight ended.
    const unloadMs: number[] = [];
    const streamEndMs: number[] = [];
    const cli = await app.client('cli');
    for (let i = 0; i < options.containments; i++) {
      const victim = await store(`bench-contained-${i}`, 100 + i);
      const stream = await client.chat.completions.create({
        model: victim.name,
        messages: [{ role: 'user', content: PROMPT }],
        max_tokens: options.tokens,
        temperature: 0,
        stream: true,
      });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const sent = performance.now();
      const ended = (async () => {
        try {
          while (!(await iterator.next()).done);
          return null;
        } catch {
          return performance.now();
        }
      })();
      await sendCommand(cli.nc, {
        command: 'registry.quarantine_model',
        signer: app.pki.signerFor('cli'),
        trust: app.pki.trust,
        request: { model: victim.hex, reason: 'bench containment' },
      });
      const at = await ended;
      if (at !== null) streamEndMs.push(at - sent);
      let events: CloudEvent[] = [];
      await waitFor(
        async () => {
          events = [
            ...(await app.admin.store.load('model', victim.hex)).events.map((e) => e.event),
            ...(await app.admin.store.load('inference-model', victim.hex)).events.map(
              (e) => e.event,
            ),
          ];
          return events.some((e) => e.type === 'inference.model.unloaded');
        },
        30_000,
        'inference.model.unloaded',
      );
      const contained = events.find((e) => e.type === 'model.contained')!;
      const unloaded = events.find((e) => e.type === 'inference.model.unloaded')!;
      unloadMs.push(Date.parse(unloaded.time) - Date.parse(contained.time));
    }

    await inference.http.close();
    await inference.stop();
    await registry.stop();
    return {
      model: { nEmbd: shape.nEmbd, nLayer: shape.nLayer, sizeBytes: model.sizeBytes },
      threads,
      tokens: options.tokens,
      runs: options.runs,
      directTokensPerSecond: figures.directTokensPerSecond,
      apiTokensPerSecond: figures.apiTokensPerSecond,
      directTtftMs: figures.directTtftMs,
      apiTtftMs: figures.apiTtftMs,
      ratio: median(figures.ratios),
      oneSessionTokensPerSecond: one,
      fourSessionsTokensPerSecond: four,
      concurrencyRatio: four / one,
      unloadMs,
      streamEndMs,
    };
  } finally {
    await app.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

async function sequential<T>(n: number, f: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);

export function inferenceRows(f: InferenceFigures): Row[] {
  const row = (measure: string, value: string, spread: string, note: string): Row => ({
    measure,
    n: f.tokens,
    runs: f.runs,
    value,
    spread,
    note,
  });
  const range = (xs: number[], digits = 0) =>
    `${fixed(Math.min(...xs), digits)}–${fixed(Math.max(...xs), digits)}`;
  return [
    row(
      '(j) direct node-llama-cpp, greedy, tokens/s',
      `${fixed(median(f.directTokensPerSecond))} tok/s`,
      range(f.directTokensPerSecond),
      `baseline: same model (${f.model.nEmbd}×${f.model.nLayer}), ${f.threads} threads, in process`,
    ),
    row(
      '(j) OpenAI API streaming, tokens/s',
      `${fixed(median(f.apiTokensPerSecond))} tok/s`,
      range(f.apiTokensPerSecond),
      'the openai client over loopback HTTP, SSE',
    ),
    {
      measure: '(j) API ÷ direct tokens/s',
      n: 0,
      runs: f.runs,
      value: `${f.ratio.toFixed(3)}×`,
      spread: '',
      note: `median of paired runs; floor ${INFERENCE_FLOOR}×, goal ${INFERENCE_GOAL}× — ${f.ratio >= INFERENCE_FLOOR ? 'meets the floor' : 'MISSES the floor'}`,
    },
    row(
      '(j) time to first token, direct / API',
      `${fixed(median(f.directTtftMs), 1)} / ${fixed(median(f.apiTtftMs), 1)} ms`,
      `API ${range(f.apiTtftMs, 1)}`,
      'API includes admission, model lookup, prompt render and the first SSE frame',
    ),
    {
      measure: '(j) 4 sessions at once ÷ 1 session, tokens/s',
      n: 0,
      runs: f.runs,
      value: `${f.concurrencyRatio.toFixed(2)}×`,
      spread: `${fixed(f.oneSessionTokensPerSecond)} → ${fixed(f.fourSessionsTokensPerSecond)} tok/s`,
      note: 'aggregate over the four streams',
    },
    {
      measure: '(j) model.contained → model unloaded',
      n: f.unloadMs.length,
      runs: 1,
      value: `${fixed(median(f.unloadMs))} ms`,
      spread: `p99 ${fixed(percentile(f.unloadMs, 99))} ms`,
      note: 'event times (ms resolution): the registry’s model.contained to inference.model.unloaded',
    },
    {
      measure: '(j) containment command → stream ended',
      n: f.streamEndMs.length,
      runs: 1,
      value: `${fixed(median(f.streamEndMs))} ms`,
      spread: `p99 ${fixed(percentile(f.streamEndMs, 99))} ms`,
      note: 'client-side: quarantine_model sent until the stream threw MODEL_CONTAINED',
    },
  ];
}

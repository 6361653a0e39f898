import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { pino } from 'pino';
import { issueBearerToken } from '@secai/contracts';
import type { TestAppliance } from '@secai/streams/testing';
import {
  DEFAULT_POLICY_DIR,
  PolicyClient,
  PolicyEngine,
  PolicyHost,
  buildHttp,
  evaluate,
  normalizeRequest,
  parsePolicyDocuments,
  serveCommands,
  groupCommitRecorder,
} from '@secai/policy-engine';
import { EVENTS_STREAM, watchBus } from '@secai/streams';
import { latencyRow, ratioRow, type Row } from './report.js';
import { latency, percentile, type Latency } from './stats.js';

/** One request per domain, as gates send them, with the default (shipped) policy. */
export const POLICY_REQUESTS = [
  {
    domain: 'tool_access',
    subject: 'filesystem.read',
    params: { path: '/vault/user_docs/report.txt' },
  },
  { domain: 'path_access', subject: '/vault/outputs/summary.md', action: 'write' },
  { domain: 'egress', subject: 'https://huggingface.co/org/model/resolve/main/model.gguf' },
  { domain: 'agent_risk', subject: 'file_read' },
  { domain: 'sensitivity', subject: 'medium', params: { ceiling: 'high' } },
] as const;

export interface LoadResult {
  requestsPerSecond: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export interface PolicyBenchResults {
  evaluate: Latency;
  decideInProcess: Latency;
  http: {
    baseline: LoadResult;
    decide: LoadResult;
    ratio: number;
    /** Every request a distinct body (the verdict memo never hits). */
    decideDistinct: LoadResult;
    ratioDistinct: number;
    connections: number;
    seconds: number;
  };
  nats: { iterations: number; p50Ms: number; p95Ms: number; p99Ms: number };
  /** The same client, `concurrency` decides in flight at once (as several gates would). */
  natsConcurrent: {
    concurrency: number;
    decisions: number;
    decisionsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    /** Events that recorded them: fewer than decisions when groups formed. */
    events: number;
  };
}

async function defaultSnapshot() {
  const files = await Promise.all(
    ['policy.yaml', 'agent.yaml'].map(async (name) => ({
      path: join(DEFAULT_POLICY_DIR, name),
      text: await readFile(join(DEFAULT_POLICY_DIR, name), 'utf8'),
    })),
  );
  const result = parsePolicyDocuments(files);
  if (!result.ok) throw new Error('the shipped policy does not load');
  return result.snapshot;
}

/** In-process: `evaluate` alone (the rules), then normalise + evaluate + evidence (no recording). */
async function inProcess(iterations: number): Promise<{ evaluate: Latency; decide: Latency }> {
  const snapshot = await defaultSnapshot();
  const engine = new PolicyEngine();
  engine.install(snapshot);
  const inputs = POLICY_REQUESTS.map((r) => normalizeRequest(r).input);
  for (let i = 0; i < 5000; i++) evaluate(inputs[i % inputs.length]!, snapshot.documents);
  const evalSamples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const input = inputs[i % inputs.length]!;
    const t = process.hrtime.bigint();
    evaluate(input, snapshot.documents);
    evalSamples[i] = Number(process.hrtime.bigint() - t);
  }
  for (let i = 0; i < 5000; i++)
    engine.decide(POLICY_REQUESTS[i % POLICY_REQUESTS.length]!, 'tool-firewall');
  const decideSamples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    engine.decide(POLICY_REQUESTS[i % POLICY_REQUESTS.length]!, 'tool-firewall');
    decideSamples[i] = Number(process.hrtime.bigint() - t);
  }
  return { evaluate: latency(evalSamples), decide: latency(decideSamples) };
}

function loadgen(job: {
  url: string;
  body?: string;
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
  distinctPaths?: boolean;
}): Promise<LoadResult> {
  const script = fileURLToPath(new URL('./loadgen.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = fork(script, [JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as LoadResult)
        : reject(new Error(`load generator exited ${code}`)),
    );
  });
}

/**
 * The policy engine under load, on one private nats-server: the HTTP decide route (every decision
 * recorded in the stream before the answer) against a bare fastify route returning a constant
 * JSON body in the same process, both driven by autocannon from another process; then NATS
 * request/reply decide latency through the client library.
 */
export async function policyBench(
  app: TestAppliance,
  options: { iterations: number; connections: number; seconds: number; natsIterations: number },
): Promise<PolicyBenchResults> {
  const local = await inProcess(options.iterations);
  const log = pino({ level: 'silent' });
  const side = await app.client('policy-engine');
  const engine = new PolicyEngine();
  engine.install(await defaultSnapshot());
  // As the service runs it: group commit, signed on the engine's thread; each answer waits for
  // the acknowledgement of the event holding its decision.
  const recorder = groupCommitRecorder(side.js, side.store.signer);
  const host = new PolicyHost(engine, null, DEFAULT_POLICY_DIR, log);
  const http = buildHttp({
    engine,
    host,
    recorder,
    trust: app.pki.trust,
    bus: watchBus(side.nc),
    log,
  });
  await http.listen({ host: '127.0.0.1', port: 0 });
  const baseline = Fastify({ logger: false });
  baseline.post('/decide', () => ({ decision: 'allow', reason: 'constant', eventId: null }));
  await baseline.listen({ host: '127.0.0.1', port: 0 });

  const token = issueBearerToken(app.pki.signerFor('tool-firewall'), {
    audience: 'policy-engine',
    now: new Date(),
    ttlSeconds: 3600,
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const body = JSON.stringify(POLICY_REQUESTS[0]);
  const addr = (s: typeof http) => s.server.address() as { port: number };
  const job = { headers, body, connections: options.connections, durationSeconds: options.seconds };
  await loadgen({
    ...job,
    url: `http://127.0.0.1:${addr(baseline).port}/decide`,
    durationSeconds: 2,
  });
  const base = await loadgen({ ...job, url: `http://127.0.0.1:${addr(baseline).port}/decide` });
  await loadgen({
    ...job,
    url: `http://127.0.0.1:${addr(http).port}/api/v1/decide`,
    durationSeconds: 2,
  });
  const decide = await loadgen({
    ...job,
    url: `http://127.0.0.1:${addr(http).port}/api/v1/decide`,
  });
  // The same route with a body never seen before on every request: the engine's verdict memo
  // then never answers, as for gates whose paths all differ.
  const decideDistinct = await loadgen({
    ...job,
    distinctPaths: true,
    url: `http://127.0.0.1:${addr(http).port}/api/v1/decide`,
  });
  await http.close();
  await baseline.close();

  const subs = serveCommands(side.nc, {
    engine,
    host,
    recorder,
    signer: side.store.signer,
    trust: side.store.trust,
    log,
  });
  const gate = await app.client('tool-firewall');
  const client = new PolicyClient(gate.nc, app.pki.signerFor('tool-firewall'), app.pki.trust, 5000);
  for (let i = 0; i < 200; i++) await client.decide(POLICY_REQUESTS[i % POLICY_REQUESTS.length]!);
  const ms: number[] = [];
  for (let i = 0; i < options.natsIterations; i++) {
    const t = process.hrtime.bigint();
    await client.decide(POLICY_REQUESTS[i % POLICY_REQUESTS.length]!);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const concurrency = options.connections;
  const eventsBefore = await decisionEvents(side);
  const concurrent: number[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = worker; i < options.natsIterations; i += concurrency) {
        const t = process.hrtime.bigint();
        await client.decide(POLICY_REQUESTS[i % POLICY_REQUESTS.length]!);
        concurrent.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const concurrentSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const concurrentEvents = (await decisionEvents(side)) - eventsBefore;
  for (const s of subs) s.unsubscribe();
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    evaluate: local.evaluate,
    decideInProcess: local.decide,
    http: {
      baseline: base,
      decide,
      ratio: decide.requestsPerSecond / base.requestsPerSecond,
      decideDistinct,
      ratioDistinct: decideDistinct.requestsPerSecond / base.requestsPerSecond,
      connections: options.connections,
      seconds: options.seconds,
    },
    nats: {
      iterations: ms.length,
      p50Ms: round(percentile(ms, 50)),
      p95Ms: round(percentile(ms, 95)),
      p99Ms: round(percentile(ms, 99)),
    },
    natsConcurrent: {
      concurrency,
      decisions: concurrent.length,
      decisionsPerSecond: concurrent.length / concurrentSeconds,
      p50Ms: round(percentile(concurrent, 50)),
      p99Ms: round(percentile(concurrent, 99)),
      events: concurrentEvents,
    },
  };
}

/** Messages stored on the decision subjects so far (each one signature and one ack). */
async function decisionEvents(side: { jsm: TestAppliance['admin']['jsm'] }): Promise<number> {
  const info = await side.jsm.streams.info(EVENTS_STREAM, {
    subjects_filter: 'secai.evt.decision.>',
  });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

/** Table rows of the policy figures, beside the original's targets (p50/p95/p99 5/15/50 ms). */
export function policyRows(r: PolicyBenchResults): Row[] {
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const met = (ok: boolean) => (ok ? 'goal met' : 'GOAL MISSED');
  const http = (measure: string, l: LoadResult, note: string): Row => ({
    measure,
    n: l.total,
    runs: 1,
    value: `${Math.round(l.requestsPerSecond).toLocaleString('en-US')} req/s`,
    spread: `p50 ${ms(l.latencyMs.p50)} p99 ${ms(l.latencyMs.p99)}`,
    note,
  });
  return [
    latencyRow(
      'f. policy evaluate (rules)',
      r.evaluate,
      `default policy, 5 domains; goal p99 ≤ 50 µs: ${met(r.evaluate.p99Us <= 50)}`,
    ),
    latencyRow(
      'f. policy decide in process',
      r.decideInProcess,
      'normalise + evaluate + evidence, not recorded',
    ),
    http(
      'f. HTTP bare fastify route',
      r.http.baseline,
      `constant JSON, ${r.http.connections} connections, ${r.http.seconds} s (autocannon)`,
    ),
    http(
      'f. HTTP decide',
      r.http.decide,
      `each answer after the ack of the event holding it (group commit); ${r.http.decide.non2xx} non-2xx; p99 ≤ 2 ms: ${met(r.http.decide.latencyMs.p99 <= 2 && r.http.decide.non2xx === 0)}`,
    ),
    ratioRow(
      '   decide / bare',
      r.http.ratio,
      `floor ≥ 0.50 (issue 13): ${met(r.http.ratio >= 0.5 && r.http.decide.non2xx === 0)}`,
    ),
    http(
      'f. HTTP decide, every body new',
      r.http.decideDistinct,
      `a distinct path per request (no memo answers); ${r.http.decideDistinct.non2xx} non-2xx`,
    ),
    ratioRow(
      '   decide (every body new) / bare',
      r.http.ratioDistinct,
      `floor ≥ 0.50: ${met(r.http.ratioDistinct >= 0.5 && r.http.decideDistinct.non2xx === 0)}`,
    ),
    {
      measure: `f. NATS decide, ${r.natsConcurrent.concurrency} at once`,
      n: r.natsConcurrent.decisions,
      runs: 1,
      value: `${Math.round(r.natsConcurrent.decisionsPerSecond).toLocaleString('en-US')} dec/s`,
      spread: `p50 ${ms(r.natsConcurrent.p50Ms)} p99 ${ms(r.natsConcurrent.p99Ms)}`,
      note: `group commit: ${r.natsConcurrent.decisions} decisions in ${r.natsConcurrent.events} events`,
    },
    {
      measure: 'f. NATS decide (request/reply)',
      n: r.nats.iterations,
      runs: 1,
      value: `p50 ${ms(r.nats.p50Ms)}`,
      spread: `p95 ${ms(r.nats.p95Ms)} p99 ${ms(r.nats.p99Ms)}`,
      note: 'sequential, signed both ways, recorded; original targets p50/p95/p99 5/15/50 ms',
    },
  ];
}

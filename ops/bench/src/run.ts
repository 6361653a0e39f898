import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SigningPool, VerifierPool, natsServerVersion, streamBounds } from '@secai/streams';
import { startTestAppliance } from '@secai/streams/testing';
import { policyBench, policyRows, type PolicyBenchResults } from './policy.js';
import { quarantineBench, quarantineRows } from './quarantine.js';
import {
  IMPORT_FLOOR,
  IMPORT_GOAL,
  supplyChainBench,
  supplyChainBreakdown,
  supplyChainRows,
} from './supplyChain.js';
import { attestationBench, attestationRows } from './enforcement.js';
import { incidentBench, incidentRows } from './incident.js';
import { integrityBench, integrityRows } from './integrity.js';
import { inferenceBench, inferenceRows } from './inference.js';
import { toolFirewallBench, toolFirewallRows } from './toolFirewall.js';
import { mcpFirewallBench, mcpFirewallRows } from './mcpFirewall.js';
import { dashboardBench, dashboardRows } from './dashboard.js';
import {
  eventsVerify,
  eventsVerifyRange,
  readOnly,
  verifyPooled,
  verifySingle,
  type ConsumeRun,
} from './consume.js';
import { microBenchmarks } from './micro.js';
import {
  prebuild,
  publishRaw,
  publishRawWithHeaders,
  publishSignedInline,
  publishSignedPooled,
  type Published,
} from './publish.js';
import {
  formatInt,
  latencyRow,
  ratioRow,
  renderTable,
  throughputRow,
  writeJson,
  type Row,
} from './report.js';
import { BenchSealer } from './seal.js';
import { nowNs, secondsSince, throughput, type Throughput } from './stats.js';

/**
 * `npm run bench`: one private nats-server, one stream, every figure of ops/bench/README.md.
 * BENCH_EVENTS (default 100000) events per throughput run, BENCH_RUNS (default 3) runs each.
 */
const EVENTS = positiveInt('BENCH_EVENTS', 100_000);
const RUNS = positiveInt('BENCH_RUNS', 3);
const WINDOW = positiveInt('BENCH_WINDOW', 256);
const BATCH = positiveInt('BENCH_BATCH', 512);
const SIGNATURE_RUNS = positiveInt('BENCH_SIGNATURE_RUNS', 1, 0);
const MICRO_ITERATIONS = positiveInt('BENCH_MICRO_ITERATIONS', 20_000);
const SEAL_EVERY = 1000;
/** Floors of issue 9 §8, judged on ratios taken within one run. */
const POOL_TO_RAW_FLOOR = 0.65;
const CHAIN_TO_READ_FLOOR = 0.8;
const SECTION_NAMES = [
  'policy',
  'quarantine',
  'events',
  'supply',
  'enforcement',
  'inference',
  'tools',
  'mcp',
  'dashboard',
] as const;
type Section = (typeof SECTION_NAMES)[number];
/**
 * BENCH_SECTIONS (default: all): a comma-separated subset of policy (f), quarantine (g),
 * events (a)–(e), supply (h), enforcement (i), inference (j), tools (k), mcp (l), dashboard (m).
 */
const SECTIONS = sections(process.env.BENCH_SECTIONS);
const RESULTS = fileURLToPath(new URL('../results/latest.json', import.meta.url));

function positiveInt(name: string, fallback: number, least = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(value) || value < least) {
    throw new Error(`${name}=${raw} is not an integer ≥ ${least}`);
  }
  return value;
}

function sections(raw: string | undefined): ReadonlySet<Section> {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'all') return new Set(SECTION_NAMES);
  const chosen = raw.split(',').map((name) => name.trim());
  for (const name of chosen) {
    if (!(SECTION_NAMES as readonly string[]).includes(name)) {
      throw new Error(`BENCH_SECTIONS: unknown section ${name} (${SECTION_NAMES.join(', ')})`);
    }
  }
  return new Set(chosen as Section[]);
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Ratio of two medians, to three decimals. */
function ratio(a: number, b: number): number {
  return Math.round((a / b) * 1000) / 1000;
}

function eventsPerSecond(events: number, seconds: number): number {
  return events / seconds;
}

function consumeRate(run: ConsumeRun, expected: number, what: string): number {
  if (
    run.read !== expected ||
    run.refused !== 0 ||
    (what !== 'read' && run.verified !== expected)
  ) {
    throw new Error(
      `${what}: read ${run.read}, verified ${run.verified}, refused ${run.refused}; expected ${expected}`,
    );
  }
  return eventsPerSecond(run.read, run.seconds);
}

async function main(): Promise<void> {
  const started = nowNs();
  const [major, minor, patch] = natsServerVersion();
  const machine = {
    cpus: cpus().length,
    availableParallelism: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${release()} ${process.arch}`,
    node: process.version,
    natsServer: `${major}.${minor}.${patch}`,
  };
  log(
    `${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}, nats-server ${machine.natsServer}`,
  );
  log(`sections: ${[...SECTIONS].join(', ')}`);
  log(`${formatInt.format(EVENTS)} events per run, ${RUNS} runs, window ${WINDOW}`);
  const rows: Row[] = [];
  const json: Record<string, unknown> = {};
  const goals: Record<string, unknown> = {};
  let heading = '';
  let footer = '';

  // (f) the policy engine, first and on its own bus, before the stream fills up.
  if (SECTIONS.has('policy')) {
    log('policy engine: evaluate, HTTP decide under load, NATS decide');
    // The service configuration: no async stack traces on the connections (`connectAs`).
    const policyApp = await startTestAppliance({ asyncTraces: false });
    let policyResults: PolicyBenchResults;
    try {
      policyResults = await policyBench(policyApp, {
        iterations: MICRO_ITERATIONS,
        connections: positiveInt('BENCH_HTTP_CONNECTIONS', 16),
        seconds: positiveInt('BENCH_HTTP_SECONDS', 10),
        natsIterations: positiveInt('BENCH_NATS_ITERATIONS', 2000),
      });
    } finally {
      await policyApp.cleanup();
    }
    json.policy = policyResults;
    Object.assign(goals, {
      policyEvaluateP99UsAtMost: 50,
      policyEvaluateMet: policyResults.evaluate.p99Us <= 50,
      // Issue 13 §1: the floor, in the same run; an answer that is not 2xx fails both.
      httpDecideToBareAtLeast: 0.5,
      // Both the repeated body (the engine's memos answer) and a new body on every request.
      httpDecideToBareMet:
        policyResults.http.ratio >= 0.5 &&
        policyResults.http.ratioDistinct >= 0.5 &&
        policyResults.http.decide.non2xx === 0 &&
        policyResults.http.decideDistinct.non2xx === 0,
      httpDecideP99MsAtMost: 2,
      httpDecideP99Met:
        policyResults.http.decide.latencyMs.p99 <= 2 && policyResults.http.decide.non2xx === 0,
    });
    rows.push(...policyRows(policyResults));
  }

  if (SECTIONS.has('quarantine')) {
    log('quarantine: behavioural judge on the corpus, behavioural test on the tiny model');
    const quarantine = await quarantineBench();
    json.quarantine = {
      judge: quarantine.judge,
      baseline: quarantine.baseline,
      behavioralTest: quarantine.behavioralTest,
    };
    rows.push(...quarantineRows(quarantine));
    footer += `${quarantine.report}\n\n`;
  }

  let config: Record<string, unknown> = {};
  if (SECTIONS.has('events')) {
    const events = await eventsBench();
    Object.assign(json, events.results);
    Object.assign(goals, events.goals);
    config = events.config;
    heading = events.heading;
    rows.unshift(...events.rows);
  }

  // Last: these write gigabyte files and hold large buffers, which would skew (a)-(e).
  if (SECTIONS.has('supply')) {
    const supplySize = positiveInt('BENCH_MODEL_MIB', 1024) * 1024 * 1024;
    const supplyRuns = positiveInt('BENCH_SUPPLY_RUNS', 3);
    log(`supply chain: import of ${supplySize / 2 ** 20} MiB files against sha256sum`);
    const supplyChain = await supplyChainBench(supplySize, supplyRuns, log);
    json.supplyChain = supplyChain;
    // Issue 11 §6, judged on each file and each way into custody (ratios taken in the same run).
    const imports = supplyChain.flatMap((f) => f.modes);
    Object.assign(goals, {
      importToSha256sumFloor: IMPORT_FLOOR,
      importToSha256sumGoal: IMPORT_GOAL,
      importFloorMet: imports.every((m) => m.passed && m.ratio <= IMPORT_FLOOR),
      importGoalMet: imports.every((m) => m.passed && m.ratio <= IMPORT_GOAL),
      inboxImportFloorMet: imports.every(
        (m) => m.mode !== 'rename' || (m.passed && m.ratio <= IMPORT_FLOOR),
      ),
    });
    rows.push(...supplyChainRows(supplyChain));
    footer += `${supplyChainBreakdown(supplyChain)}

`;
  }
  if (SECTIONS.has('enforcement')) {
    log(
      'enforcement: detection-to-containment, integrity scan against sha256sum and AIDE, attestation',
    );
    const incident = await incidentBench({ runs: positiveInt('BENCH_INCIDENT_RUNS', 50), log });
    const integrity = await integrityBench({ log });
    const attestation = await attestationBench(positiveInt('BENCH_ATTEST_RUNS', 100));
    Object.assign(json, { incident, integrity, attestation });
    rows.push(
      ...incidentRows(incident),
      ...integrityRows(integrity),
      ...attestationRows(attestation),
    );
  }

  if (SECTIONS.has('inference')) {
    log('inference: API against node-llama-cpp direct, sessions, containment');
    const inference = await inferenceBench({
      runs: positiveInt('BENCH_INFERENCE_RUNS', 5),
      tokens: positiveInt('BENCH_INFERENCE_TOKENS', 256),
      containments: positiveInt('BENCH_INFERENCE_CONTAINMENTS', 10),
      threads: positiveInt('BENCH_INFERENCE_THREADS', 1),
      log,
    });
    Object.assign(json, { inference });
    rows.push(...inferenceRows(inference));
  }

  if (SECTIONS.has('tools')) {
    log('tools: a call through the tool firewall against the adapter called directly');
    const tools = await toolFirewallBench({
      iterations: positiveInt('BENCH_TOOL_ITERATIONS', 2000),
      rounds: positiveInt('BENCH_TOOL_ROUNDS', 5),
      concurrency: positiveInt('BENCH_TOOL_CONCURRENCY', 8),
      fileBytes: positiveInt('BENCH_TOOL_FILE_BYTES', 1024),
      log,
    });
    Object.assign(json, { tools });
    rows.push(...toolFirewallRows(tools));
  }

  if (SECTIONS.has('mcp')) {
    log('mcp: a tools/call through the MCP firewall against the upstream called directly');
    const mcp = await mcpFirewallBench({
      iterations: positiveInt('BENCH_MCP_ITERATIONS', 2000),
      rounds: positiveInt('BENCH_MCP_ROUNDS', 5),
      log,
    });
    Object.assign(json, { mcp });
    rows.push(...mcpFirewallRows(mcp));
  }

  if (SECTIONS.has('dashboard')) {
    log('dashboard: a recorded burst and single events into the page in headless Chromium');
    const dashboard = await dashboardBench({
      burst: positiveInt('BENCH_DASHBOARD_BURST', 5000),
      rounds: positiveInt('BENCH_DASHBOARD_ROUNDS', 3),
      latencyEvents: positiveInt('BENCH_DASHBOARD_LATENCY_EVENTS', 200),
      log,
    });
    Object.assign(json, { dashboard });
    rows.push(...dashboardRows(dashboard));
  }

  const seconds = secondsSince(started);
  process.stdout.write(
    `\nSecAI bench — ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}, nats-server ${machine.natsServer}\n` +
      `sections ${[...SECTIONS].join(', ')}; ${heading}${Math.round(seconds)} s in all\n\n` +
      `${renderTable(rows)}\n\n${footer}`,
  );
  await writeJson(RESULTS, {
    date: new Date().toISOString(),
    durationSeconds: Math.round(seconds * 10) / 10,
    machine,
    sections: [...SECTIONS],
    config,
    results: json,
    goals,
  });
  log(`results written to ${RESULTS}`);
}

/** (a)–(e): the event backbone on one private nats-server and one stream. */
async function eventsBench(): Promise<{
  results: Record<string, unknown>;
  goals: Record<string, unknown>;
  config: Record<string, unknown>;
  rows: Row[];
  heading: string;
}> {
  // The service configuration: no async stack traces on the connections (`connectAs`).
  const app = await startTestAppliance({ asyncTraces: false });
  let pool: VerifierPool | undefined;
  let signingPool: SigningPool | undefined;
  try {
    const { pki, admin } = app;
    const stream = admin.store.stream;
    const policy = pki.signerFor('policy-engine');
    const policyIdentity = pki.identities.get('policy-engine')!;
    const sealer = new BenchSealer(admin.js, pki.signerFor('incident-recorder'), SEAL_EVERY);

    // (e) first, on a quiet machine: nothing else runs yet but an idle nats-server.
    log('micro-benchmarks');
    const micro = microBenchmarks(policy, pki.trust, MICRO_ITERATIONS, 2000);

    // (a), (b) and (b′), interleaved run by run so a slow phase of the machine hits all alike.
    // (b′) signs on one worker thread (the default pool size), batches of the default size.
    signingPool = await SigningPool.create(policyIdentity);
    const prebuilt = prebuild(1024, policy, new Date());
    const seal = async (published: Published) =>
      sealer.sealBlock(published.stored, published.lastSeq);
    log('warm-up publishes');
    // How many envelopes went out as raw replays of `prebuilt` (see the verify check below).
    let replayedRaw = 2000;
    await seal(await publishRaw(admin.js, prebuilt, 2000, WINDOW));
    await seal(await publishSignedInline(admin.js, policy, 2000, WINDOW, 0));
    await seal(await publishSignedPooled(admin.js, signingPool, 2000, WINDOW, 0));

    const raw: number[] = [];
    const rawHeaders: number[] = [];
    const signed: number[] = [];
    const signedPool: number[] = [];
    // (c) reads the first signed block with the seals on either side of it: it starts right
    // after a seal's window (so a chain-only check can start there, anchored) and ends with the
    // block's own seals.
    let readRange = { fromSeq: 0, toSeq: 0 };
    let chainStart = { seq: 0, head: '' };
    let rangeSeals = 0;
    for (let run = 1; run <= RUNS; run++) {
      const r = await publishRaw(admin.js, prebuilt, EVENTS, WINDOW);
      raw.push(eventsPerSecond(EVENTS, r.seconds));
      await seal(r);
      const h = await publishRawWithHeaders(admin.js, prebuilt, EVENTS, WINDOW, `bench-${run}`);
      replayedRaw += 2 * EVENTS;
      rawHeaders.push(eventsPerSecond(EVENTS, h.seconds));
      const sealsBefore = sealer.seals;
      await seal(h);
      const s = await publishSignedInline(admin.js, policy, EVENTS, WINDOW, run * EVENTS);
      signed.push(eventsPerSecond(EVENTS, s.seconds));
      const mark = sealer.sealedMark;
      await seal(s);
      if (run === 1) {
        readRange = { fromSeq: mark.seq + 1, toSeq: sealer.lastSeq };
        chainStart = mark;
        rangeSeals = sealer.seals - sealsBefore;
      }
      const p = await publishSignedPooled(
        admin.js,
        signingPool,
        EVENTS,
        WINDOW,
        (RUNS + run) * EVENTS,
      );
      signedPool.push(eventsPerSecond(EVENTS, p.seconds));
      await seal(p);
      log(
        `publish run ${run}/${RUNS}: raw ${formatInt.format(raw.at(-1)!)}, raw + msgID + header ${formatInt.format(rawHeaders.at(-1)!)}, signed ${formatInt.format(signed.at(-1)!)}, signed (pool) ${formatInt.format(signedPool.at(-1)!)} ev/s, pool / raw ${(signedPool.at(-1)! / raw.at(-1)!).toFixed(2)}×`,
      );
    }
    const signThreads = signingPool.size;
    const signBatch = signingPool.batchSize;
    await signingPool.close();
    signingPool = undefined;

    // (c) that range read back: read only, chain-only `events verify`, one thread, the pool.
    const rangeSize = readRange.toSeq - readRange.fromSeq + 1;
    pool = await VerifierPool.create(pki.bundle, { batchSize: BATCH });
    const maxInFlight = 2 * pool.size;
    const readRates: number[] = [];
    const rangeChainRates: number[] = [];
    const single: number[] = [];
    const pooled: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const { js, jsm } = admin;
      readRates.push(consumeRate(await readOnly(js, jsm, stream, readRange), rangeSize, 'read'));
      const chained = await eventsVerifyRange(js, jsm, stream, pki.trust, readRange, chainStart);
      const { report } = chained;
      if (!report.ok || report.checked !== rangeSize || report.seals !== rangeSeals) {
        throw new Error(
          `events verify over ${readRange.fromSeq}..${readRange.toSeq} failed: ${JSON.stringify(report.failures.slice(0, 5))}, checked ${report.checked}/${rangeSize}, seals ${report.seals}/${rangeSeals}`,
        );
      }
      rangeChainRates.push(eventsPerSecond(report.checked, chained.seconds));
      single.push(
        consumeRate(
          await verifySingle(js, jsm, stream, readRange, pki.trust),
          rangeSize,
          'single-threaded verify',
        ),
      );
      pooled.push(
        consumeRate(
          await verifyPooled(js, jsm, stream, readRange, pool, BATCH, maxInFlight),
          rangeSize,
          'pooled verify',
        ),
      );
      log(
        `consume run ${run}/${RUNS}: read ${formatInt.format(readRates.at(-1)!)}, chain only ${formatInt.format(rangeChainRates.at(-1)!)}, single ${formatInt.format(single.at(-1)!)}, pool ${formatInt.format(pooled.at(-1)!)} ev/s, chain / read ${(rangeChainRates.at(-1)! / readRates.at(-1)!).toFixed(2)}×`,
      );
    }
    await pool.close();
    pool = undefined;

    // (d) `events verify` over the whole stream, from genesis, seals and all.
    const bounds = await streamBounds(admin.jsm, stream);
    const chainRates: number[] = [];
    const signatureRates: number[] = [];
    let seals = 0;
    const check = async (signatures: boolean, into: number[]) => {
      const { seconds, report } = await eventsVerify(
        admin.js,
        admin.jsm,
        stream,
        pki.trust,
        signatures,
      );
      // The raw publishes replay the 1,024 prebuilt envelopes over and over: with signatures,
      // each replay after the first is a repeated event id, which the verifier must flag
      // (issue 10 §2). Exactly those, and nothing else, are expected.
      const duplicates = report.failures.filter((f) => f.code === 'EVENT_ID_DUPLICATE').length;
      const expectedDuplicates = signatures ? replayedRaw - prebuilt.length : 0;
      const otherFailures = report.failures.filter((f) => f.code !== 'EVENT_ID_DUPLICATE');
      if (
        otherFailures.length > 0 ||
        duplicates !== expectedDuplicates ||
        report.checked !== bounds.messages ||
        report.seals !== sealer.seals
      ) {
        throw new Error(
          `events verify (signatures ${signatures}) failed: ${JSON.stringify(otherFailures.slice(0, 5))}, repeated ids ${duplicates}/${expectedDuplicates}, checked ${report.checked}/${bounds.messages}, seals ${report.seals}/${sealer.seals}`,
        );
      }
      seals = report.seals;
      into.push(eventsPerSecond(report.checked, seconds));
      log(
        `events verify ${signatures ? 'with signatures' : 'chain only'}: ${formatInt.format(into.at(-1)!)} ev/s`,
      );
    };
    for (let run = 1; run <= RUNS; run++) await check(false, chainRates);
    for (let run = 1; run <= SIGNATURE_RUNS; run++) await check(true, signatureRates);

    const info = await admin.jsm.streams.info(stream);
    const perRun = (a: readonly number[], b: readonly number[]) =>
      a.map((value, i) => ratio(value, b[i]!));
    const results = {
      rawPublish: throughput(EVENTS, raw),
      rawPublishWithHeaders: throughput(EVENTS, rawHeaders),
      signedPublish: throughput(EVENTS, signed),
      signedToRaw: ratio(throughput(EVENTS, signed).median, throughput(EVENTS, raw).median),
      signedPoolPublish: throughput(EVENTS, signedPool),
      signedPoolToRaw: ratio(throughput(EVENTS, signedPool).median, throughput(EVENTS, raw).median),
      signedPoolToRawPerRun: perRun(signedPool, raw),
      readOnly: throughput(rangeSize, readRates),
      rangeChainVerify: throughput(rangeSize, rangeChainRates),
      chainToRead: ratio(
        throughput(rangeSize, rangeChainRates).median,
        throughput(rangeSize, readRates).median,
      ),
      chainToReadPerRun: perRun(rangeChainRates, readRates),
      verifySingle: throughput(rangeSize, single),
      verifyPool: throughput(rangeSize, pooled),
      poolSpeedup: ratio(
        throughput(rangeSize, pooled).median,
        throughput(rangeSize, single).median,
      ),
      eventsVerifyChain: throughput(bounds.messages, chainRates),
      eventsVerifySignatures: throughput(bounds.messages, signatureRates),
      micro,
    };
    const config = {
      events: EVENTS,
      runs: RUNS,
      window: WINDOW,
      verifyBatch: BATCH,
      signThreads,
      signBatch,
      poolThreads: availableParallelism(),
      poolMaxInFlight: maxInFlight,
      sealEvery: SEAL_EVERY,
      envelopeBytes: micro.envelopeBytes,
      eventType: 'policy.decided',
      asyncTraces: false,
      readRange: { ...readRange, entries: rangeSize, seals: rangeSeals },
      stream: {
        name: stream,
        messages: info.state.messages,
        bytes: info.state.bytes,
        seals,
      },
    };
    const goals = {
      // Judged on (b′): signing on a worker thread, publishing on this one.
      signedToRawAtLeast: 0.5,
      signedToRawJudgedOn: 'signedPoolPublish',
      signedToRawMet: results.signedPoolToRaw >= 0.5,
      signedOneThreadToRawMet: results.signedToRaw >= 0.5,
      signedPoolToRawFloor: POOL_TO_RAW_FLOOR,
      signedPoolToRawFloorMet: results.signedPoolToRaw >= POOL_TO_RAW_FLOOR,
      chainToReadFloor: CHAIN_TO_READ_FLOOR,
      chainToReadFloorMet: results.chainToRead >= CHAIN_TO_READ_FLOOR,
      chainOnlyEventsPerSecondAtLeast: 50_000,
      chainOnlyMet: results.eventsVerifyChain.median >= 50_000,
    };
    const heading =
      `${formatInt.format(EVENTS)} events per run, median of ${RUNS} runs, window ${WINDOW}, ` +
      `envelope ≈ ${micro.envelopeBytes} B (policy.decided), stream ${formatInt.format(info.state.messages)} msgs / ` +
      `${formatInt.format(info.state.bytes / 2 ** 20)} MiB with ${seals} seals; `;
    return {
      results,
      goals,
      config,
      rows: tableRows(results, config.stream.messages, signThreads, signBatch, rangeSeals),
      heading,
    };
  } finally {
    await pool?.close();
    await signingPool?.close();
    await app.cleanup();
  }
}

function tableRows(
  r: {
    rawPublish: Throughput;
    rawPublishWithHeaders: Throughput;
    signedPublish: Throughput;
    signedToRaw: number;
    signedPoolPublish: Throughput;
    signedPoolToRaw: number;
    signedPoolToRawPerRun: number[];
    readOnly: Throughput;
    rangeChainVerify: Throughput;
    chainToRead: number;
    chainToReadPerRun: number[];
    verifySingle: Throughput;
    verifyPool: Throughput;
    poolSpeedup: number;
    eventsVerifyChain: Throughput;
    eventsVerifySignatures: Throughput;
    micro: ReturnType<typeof microBenchmarks>;
  },
  streamMessages: number,
  signThreads: number,
  signBatch: number,
  rangeSeals: number,
): Row[] {
  const met = (ok: boolean) => (ok ? 'goal met' : 'GOAL MISSED');
  const floor = (value: number, at: number) =>
    `floor ${at.toFixed(2)}×: ${value >= at ? 'PASS' : 'MISS'}`;
  const spread = (perRun: readonly number[]) =>
    `per run ${Math.min(...perRun).toFixed(2)}–${Math.max(...perRun).toFixed(2)}×`;
  return [
    throughputRow('a. raw JetStream publish', r.rawPublish, `window ${WINDOW}, pre-built bytes`),
    throughputRow(
      'a. raw + msgID + header',
      r.rawPublishWithHeaders,
      'what (b) adds on the wire, nothing signed',
    ),
    throughputRow(
      'b. signed publish, 1 thread',
      r.signedPublish,
      'build + sign + publish on one thread, msgID + header',
    ),
    ratioRow('   1 thread / raw', r.signedToRaw, 'for reference (goal judged on b′)'),
    throughputRow(
      'b′. signed publish, pool',
      r.signedPoolPublish,
      `publishSigned: signed on ${signThreads} worker thread${signThreads === 1 ? '' : 's'} (batches of ${signBatch})`,
    ),
    {
      ...ratioRow(
        '   signed publish (pool) / raw',
        r.signedPoolToRaw,
        `${floor(r.signedPoolToRaw, POOL_TO_RAW_FLOOR)} (ratio of medians); goal ≥ 0.50: ${met(r.signedPoolToRaw >= 0.5)}`,
      ),
      spread: spread(r.signedPoolToRawPerRun),
    },
    throughputRow(
      'c. read back only',
      r.readOnly,
      `readHistory, no verification (one signed block + ${rangeSeals} seals)`,
    ),
    throughputRow(
      'c. events verify, chain only',
      r.rangeChainVerify,
      'verifyHistory of the same range: every entry chained, every seal checked',
    ),
    {
      ...ratioRow(
        '   chain only / read back',
        r.chainToRead,
        `${floor(r.chainToRead, CHAIN_TO_READ_FLOOR)} (ratio of medians)`,
      ),
      spread: spread(r.chainToReadPerRun),
    },
    throughputRow('c. read + verify, 1 thread', r.verifySingle, 'verifyEnvelope per event'),
    throughputRow(
      `c. read + verify, pool`,
      r.verifyPool,
      `VerifierPool × ${availableParallelism()}, batches of ${BATCH}`,
    ),
    ratioRow('   pool / 1 thread', r.poolSpeedup, 'speed-up'),
    throughputRow(
      'd. events verify, chain',
      r.eventsVerifyChain,
      `whole stream; goal ≥ 50,000 ev/s: ${met(r.eventsVerifyChain.median >= 50_000)}`,
    ),
    ...(r.eventsVerifySignatures.runs.length === 0
      ? []
      : [
          throughputRow(
            'd. events verify, signatures',
            r.eventsVerifySignatures,
            `whole stream (${formatInt.format(streamMessages)} msgs)`,
          ),
        ]),
    latencyRow('e. signEvent', r.micro.signEvent),
    latencyRow('e. verifyEnvelope', r.micro.verifyEnvelope),
    latencyRow('e. chain link (sha256 ×2)', r.micro.chainLink),
    latencyRow('e. schema check (append)', r.micro.schemaCheck),
  ];
}

await main();

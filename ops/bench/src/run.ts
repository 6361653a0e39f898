import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SigningPool, VerifierPool, natsServerVersion, streamBounds } from '@secai/streams';
import { startTestAppliance } from '@secai/streams/testing';
import { policyBench, policyRows, type PolicyBenchResults } from './policy.js';
import { quarantineBench, quarantineRows } from './quarantine.js';
import { supplyChainBench, supplyChainRows } from './supplyChain.js';
import { attestationBench, attestationRows } from './enforcement.js';
import { incidentBench, incidentRows } from './incident.js';
import { integrityBench, integrityRows } from './integrity.js';
import { eventsVerify, readOnly, verifyPooled, verifySingle, type ConsumeRun } from './consume.js';
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
const SIGNATURE_RUNS = positiveInt('BENCH_SIGNATURE_RUNS', 1);
const MICRO_ITERATIONS = positiveInt('BENCH_MICRO_ITERATIONS', 20_000);
const SEAL_EVERY = 1000;
const RESULTS = fileURLToPath(new URL('../results/latest.json', import.meta.url));

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name}=${raw} is not a positive integer`);
  }
  return value;
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
  log(`${formatInt.format(EVENTS)} events per run, ${RUNS} runs, window ${WINDOW}`);

  // (f) the policy engine, first and on its own bus, before the stream fills up.
  log('policy engine: evaluate, HTTP decide under load, NATS decide');
  const policyApp = await startTestAppliance();
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

  log('quarantine: behavioural judge on the corpus, behavioural test on the tiny model');
  const quarantine = await quarantineBench();
  const app = await startTestAppliance();
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
    await seal(await publishRaw(admin.js, prebuilt, 2000, WINDOW));
    await seal(await publishSignedInline(admin.js, policy, 2000, WINDOW, 0));
    await seal(await publishSignedPooled(admin.js, signingPool, 2000, WINDOW, 0));

    const raw: number[] = [];
    const rawHeaders: number[] = [];
    const signed: number[] = [];
    const signedPool: number[] = [];
    let signedRange = { fromSeq: 0, toSeq: 0 };
    for (let run = 1; run <= RUNS; run++) {
      const r = await publishRaw(admin.js, prebuilt, EVENTS, WINDOW);
      raw.push(eventsPerSecond(EVENTS, r.seconds));
      await seal(r);
      const h = await publishRawWithHeaders(admin.js, prebuilt, EVENTS, WINDOW, `bench-${run}`);
      rawHeaders.push(eventsPerSecond(EVENTS, h.seconds));
      await seal(h);
      const s = await publishSignedInline(admin.js, policy, EVENTS, WINDOW, run * EVENTS);
      signed.push(eventsPerSecond(EVENTS, s.seconds));
      await seal(s);
      if (run === 1) signedRange = { fromSeq: s.firstSeq, toSeq: s.lastSeq };
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
        `publish run ${run}/${RUNS}: raw ${formatInt.format(raw.at(-1)!)}, raw + msgID + header ${formatInt.format(rawHeaders.at(-1)!)}, signed ${formatInt.format(signed.at(-1)!)}, signed (pool) ${formatInt.format(signedPool.at(-1)!)} ev/s`,
      );
    }
    const signThreads = signingPool.size;
    const signBatch = signingPool.batchSize;
    await signingPool.close();
    signingPool = undefined;

    // (c) the first signed block read back: read only, one thread, the pool.
    pool = await VerifierPool.create(pki.bundle, { batchSize: BATCH });
    const maxInFlight = 2 * pool.size;
    const readRates: number[] = [];
    const single: number[] = [];
    const pooled: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const { js, jsm } = admin;
      readRates.push(consumeRate(await readOnly(js, jsm, stream, signedRange), EVENTS, 'read'));
      single.push(
        consumeRate(
          await verifySingle(js, jsm, stream, signedRange, pki.trust),
          EVENTS,
          'single-threaded verify',
        ),
      );
      pooled.push(
        consumeRate(
          await verifyPooled(js, jsm, stream, signedRange, pool, BATCH, maxInFlight),
          EVENTS,
          'pooled verify',
        ),
      );
      log(
        `consume run ${run}/${RUNS}: read ${formatInt.format(readRates.at(-1)!)}, single ${formatInt.format(single.at(-1)!)}, pool ${formatInt.format(pooled.at(-1)!)} ev/s`,
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
      if (!report.ok || report.checked !== bounds.messages || report.seals !== sealer.seals) {
        throw new Error(
          `events verify (signatures ${signatures}) failed: ${JSON.stringify(report.failures.slice(0, 5))}, checked ${report.checked}/${bounds.messages}, seals ${report.seals}/${sealer.seals}`,
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
    const results = {
      rawPublish: throughput(EVENTS, raw),
      rawPublishWithHeaders: throughput(EVENTS, rawHeaders),
      signedPublish: throughput(EVENTS, signed),
      signedToRaw: ratio(throughput(EVENTS, signed).median, throughput(EVENTS, raw).median),
      signedPoolPublish: throughput(EVENTS, signedPool),
      signedPoolToRaw: ratio(throughput(EVENTS, signedPool).median, throughput(EVENTS, raw).median),
      readOnly: throughput(EVENTS, readRates),
      verifySingle: throughput(EVENTS, single),
      verifyPool: throughput(EVENTS, pooled),
      poolSpeedup: ratio(throughput(EVENTS, pooled).median, throughput(EVENTS, single).median),
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
      stream: {
        name: stream,
        messages: info.state.messages,
        bytes: info.state.bytes,
        seals,
      },
    };
    // Last: these write gigabyte files and hold large buffers, which would skew (a)-(e).
    const supplySize = positiveInt('BENCH_MODEL_MIB', 1024) * 1024 * 1024;
    log(`supply chain: quarantine of ${supplySize / 2 ** 20} MiB files against sha256sum`);
    const supplyChain = await supplyChainBench(
      supplySize,
      positiveInt('BENCH_SUPPLY_RUNS', 3),
      log,
    );
    log(
      'enforcement: detection-to-containment, integrity scan against sha256sum and AIDE, attestation',
    );
    const incident = await incidentBench({ runs: positiveInt('BENCH_INCIDENT_RUNS', 50), log });
    const integrity = await integrityBench({ log });
    const attestation = await attestationBench(positiveInt('BENCH_ATTEST_RUNS', 100));
    const seconds = secondsSince(started);
    const rows = tableRows(results, config.stream.messages, signThreads, signBatch);
    process.stdout.write(
      `\nSecAI bench — ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}, nats-server ${machine.natsServer}\n` +
        `${formatInt.format(EVENTS)} events per run, median of ${RUNS} runs, window ${WINDOW}, ` +
        `envelope ≈ ${micro.envelopeBytes} B (policy.decided), stream ${formatInt.format(info.state.messages)} msgs / ` +
        `${formatInt.format(info.state.bytes / 2 ** 20)} MiB with ${seals} seals; ${Math.round(seconds)} s in all\n\n` +
        `${renderTable([...rows, ...policyRows(policyResults), ...quarantineRows(quarantine), ...supplyChainRows(supplyChain, positiveInt('BENCH_SUPPLY_RUNS', 3)), ...incidentRows(incident), ...integrityRows(integrity), ...attestationRows(attestation)])}\n\n${quarantine.report}\n\n`,
    );
    await writeJson(RESULTS, {
      date: new Date().toISOString(),
      durationSeconds: Math.round(seconds * 10) / 10,
      machine,
      config,
      results: {
        ...results,
        policy: policyResults,
        quarantine: {
          judge: quarantine.judge,
          baseline: quarantine.baseline,
          behavioralTest: quarantine.behavioralTest,
        },
        supplyChain,
        incident,
        integrity,
        attestation,
      },
      goals: {
        policyEvaluateP99UsAtMost: 50,
        policyEvaluateMet: policyResults.evaluate.p99Us <= 50,
        httpDecideToBareAtLeast: 0.7,
        httpDecideToBareMet: policyResults.http.ratio >= 0.7,
        httpDecideP99MsAtMost: 2,
        httpDecideP99Met: policyResults.http.decide.latencyMs.p99 <= 2,
        // Judged on (b′): signing on a worker thread, publishing on this one.
        signedToRawAtLeast: 0.5,
        signedToRawJudgedOn: 'signedPoolPublish',
        signedToRawMet: results.signedPoolToRaw >= 0.5,
        signedOneThreadToRawMet: results.signedToRaw >= 0.5,
        supplyChainToSha256sumAtMost: 2,
        supplyChainMet: supplyChain.every((f) => f.passed && f.ratio <= 2),
        chainOnlyEventsPerSecondAtLeast: 50_000,
        chainOnlyMet: results.eventsVerifyChain.median >= 50_000,
      },
    });
    log(`results written to ${RESULTS}`);
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
    readOnly: Throughput;
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
): Row[] {
  const met = (ok: boolean) => (ok ? 'goal met' : 'GOAL MISSED');
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
    ratioRow(
      '   pool / raw',
      r.signedPoolToRaw,
      `goal ≥ 0.50: ${met(r.signedPoolToRaw >= 0.5)} (signing off the publishing thread)`,
    ),
    throughputRow('c. read back only', r.readOnly, 'readHistory, no verification'),
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
    throughputRow(
      'd. events verify, signatures',
      r.eventsVerifySignatures,
      `whole stream (${formatInt.format(streamMessages)} msgs)`,
    ),
    latencyRow('e. signEvent', r.micro.signEvent),
    latencyRow('e. verifyEnvelope', r.micro.verifyEnvelope),
    latencyRow('e. chain link (sha256 ×2)', r.micro.chainLink),
    latencyRow('e. schema check (append)', r.micro.schemaCheck),
  ];
}

await main();

import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { decodePayload, parseEnvelope, type EventData } from '@secai/contracts';
import { fakeContainmentTarget, startTestAppliance, waitFor } from '@secai/streams/testing';
import { startRecorder, type IncidentEvent } from '@secai/incident-recorder';
import { removeTree, startRegistry } from '@secai/registry';
import type { Row } from './report.js';
import { median, percentile } from './stats.js';

export interface IncidentBenchResults {
  runs: number;
  warmup: number;
  /** `integrity.violation.detected` time → `incident.contained` time, from the events (ms). */
  eventTimeMs: { p50: number; p99: number; mean: number; min: number; max: number };
  /** The same interval on the bench's monotonic clock, from the append to the contained append. */
  wallMs: { p50: number; p99: number };
  samples: number[];
}

const round = (v: number) => Math.round(v * 100) / 100;

/**
 * (i) Detection-to-containment latency for a tampered model file: a stored model's bytes are
 * changed, the integrity monitor's `integrity.violation.detected` is appended, and the recorder
 * (in process, as in production: consumer, classifier, correlator, machine, executor, sealer
 * running) opens a `manifest_mismatch` incident, asks the real registry to quarantine the model
 * (`registry.quarantine_model`, confirmed by `model.contained`) and the agent to freeze (a
 * conforming stand-in), and records `incident.contained`. Measured from the violation event's
 * time to the contained event's time, one model at a time, `runs` times after `warmup`.
 */
export async function incidentBench(
  options: { runs?: number; warmup?: number; log?: (line: string) => void } = {},
): Promise<IncidentBenchResults> {
  const runs = options.runs ?? 50;
  const warmup = options.warmup ?? 3;
  const say = options.log ?? (() => {});
  const log = pino({ level: 'silent' });
  const app = await startTestAppliance();
  const dir = await mkdtemp(join(tmpdir(), 'secai-bench-incident-'));
  const stateDir = join(dir, 'state');
  const registry = await startRegistry(await app.client('registry'), {
    stateDir,
    verifyEveryMs: 0,
    log,
  });
  const agent = fakeContainmentTarget(await app.client('agent'), 'agent.freeze', app.pki);
  const contained = new Map<string, { time: string; at: bigint }>();
  const recorder = await startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'policy'),
    seal: { everyEvents: 1000, everyMs: 10_000 },
    log,
    onAppended: (id: string, events: IncidentEvent[]) => {
      const done = events.find((e) => e.type === 'incident.contained');
      if (done) contained.set(id, { time: done.time, at: process.hrtime.bigint() });
    },
  });
  try {
    const quarantine = await app.client('quarantine');
    const monitor = await app.client('integrity-monitor');
    const total = runs + warmup;
    say(`incident: storing ${total} models`);
    const models: { hex: string; path: string }[] = [];
    for (let i = 0; i < total; i++) {
      const content = randomBytes(64 * 1024);
      content.write('GGUF', 0);
      const hex = createHash('sha256').update(content).digest('hex');
      const q = join(stateDir, 'quarantine', 'artifacts', hex);
      await mkdir(q, { recursive: true });
      await writeFile(join(q, 'model.gguf'), content, { mode: 0o444 });
      await chmod(q, 0o555);
      await quarantine.store.append(
        [
          {
            type: 'model.promoted',
            aggregateId: hex,
            data: {
              decisionId: `bench-${i}`,
              name: `bench model ${i}`,
              fileName: 'model.gguf',
              format: 'gguf',
              digest: `sha256:${hex}`,
              sizeBytes: content.length,
              policyDigest: `sha256:${'00'.repeat(32)}`,
            },
          },
        ],
        { expectedSequence: 'any' },
      );
      models.push({
        hex,
        path: join(registry.models.layout.storeRoot, 'sha256', hex, 'model.gguf'),
      });
    }
    await waitFor(
      () => Object.keys(registry.manifest.runner.document.models).length >= total,
      120_000,
      'every bench model stored',
    );

    const samples: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i < total; i++) {
      const { hex, path } = models[i]!;
      // Tamper with the stored file (the store keeps it read-only).
      await chmod(join(registry.models.layout.storeRoot, 'sha256', hex), 0o755);
      await chmod(path, 0o644);
      const handle = await open(path, 'r+');
      await handle.write(Buffer.from('X'), 0, 1, 100);
      await handle.close();
      const data: EventData<'integrity.violation.detected'> = {
        pathClass: 'model_file',
        path,
        kind: 'modified',
        expected: `sha256:${hex}`,
        actual: `sha256:${'f'.repeat(64)}`,
        severity: 'high',
      };
      const started = process.hrtime.bigint();
      const { ids, sequences } = await monitor.store.append(
        [{ type: 'integrity.violation.detected', aggregateId: 'model_file', data }],
        { expectedSequence: 'any' },
      );
      const stored = await app.admin.jsm.streams.getMessage(app.admin.store.stream, {
        seq: sequences[0]!,
      });
      const detectedAt = Date.parse(decodePayload(parseEnvelope(stored!.data)).time);
      let incident: string | undefined;
      await waitFor(
        () => {
          incident ??= recorder.book
            .all()
            .find(([, r]) => r.snapshot.context.causeEventIds.includes(ids[0]!))?.[0];
          return incident !== undefined && contained.has(incident);
        },
        60_000,
        `containment of model ${i}`,
      );
      const done = contained.get(incident!)!;
      if (i >= warmup) {
        samples.push(Date.parse(done.time) - detectedAt);
        wall.push(Number(done.at - started) / 1e6);
      }
    }
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    say(
      `incident: detection → containment p50 ${median(samples)} ms, p99 ${percentile(samples, 99)} ms`,
    );
    return {
      runs,
      warmup,
      eventTimeMs: {
        p50: median(samples),
        p99: percentile(samples, 99),
        mean: round(mean),
        min: Math.min(...samples),
        max: Math.max(...samples),
      },
      wallMs: { p50: round(median(wall)), p99: round(percentile(wall, 99)) },
      samples,
    };
  } finally {
    agent.stop();
    await recorder.stop();
    await registry.stop();
    await app.cleanup();
    await removeTree(dir);
  }
}

export function incidentRows(r: IncidentBenchResults): Row[] {
  return [
    {
      measure: 'i. detection → containment',
      n: r.runs,
      runs: 1,
      value: `${r.eventTimeMs.p50} ms`,
      spread: `p99 ${r.eventTimeMs.p99} ms`,
      note: `tampered model: integrity.violation.detected → incident.contained (event times; quarantine_model at the registry + freeze_agent); wall p50 ${r.wallMs.p50} ms, p99 ${r.wallMs.p99} ms; reference SLO < 5 s`,
    },
  ];
}

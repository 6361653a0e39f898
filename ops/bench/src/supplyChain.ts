import { execFile } from 'node:child_process';
import { open, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { foldEvents } from '@secai/contracts';
import { DEFAULT_POLICY_DIR, loadPolicyDir } from '@secai/policy-engine';
import type { snapshotArtifact } from '@secai/quarantine';
import { writeTinyLlamaGguf } from '@secai/quarantine/testing';
import {
  loadPolicyBundle,
  removeTree,
  runDecider,
  sandboxedStages,
  type PolicyBundle,
  type SandboxedStage,
} from '@secai/quarantine';
import type { Row } from './report.js';
import { median } from './stats.js';

const run = promisify(execFile);
const INTAKE_CHILD = fileURLToPath(new URL('./intakeChild.js', import.meta.url));
const MiB = 1024 * 1024;

export interface SupplyChainFigures {
  format: 'safetensors' | 'gguf';
  sizeBytes: number;
  /** Median seconds of `sha256sum` over the same file, same run. */
  sha256sumSeconds: number;
  /** Median seconds of intake (copy + hash) and the five stages before the behavioural test. */
  quarantineSeconds: number;
  ratio: number;
  stages: Record<string, number>;
  /** Peak RSS of the service process during intake, and of each stage worker (KiB). */
  servicePeakKiB: number;
  workerPeakKiB: Record<string, number>;
  passed: boolean;
  failed: string | null;
}

// The source policy is not a sandboxed stage: it is one question to the policy engine.
const STAGES: SandboxedStage[] = ['format_gate', 'hash_pin', 'provenance', 'static_scan'];

/** A safetensors file of `bytes` with small, normal-looking F32 weights, written in 8 MiB chunks. */
async function writeLargeSafetensors(path: string, bytes: number): Promise<void> {
  const tensors = 16;
  const per = Math.floor((bytes - 4096) / tensors / 4 / 1024) * 1024;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < tensors; i++)
    header[`layers.${i}.weight`] = {
      dtype: 'F32',
      shape: [per / 1024, 1024],
      data_offsets: [i * per * 4, (i + 1) * per * 4],
    };
  let text = JSON.stringify(header);
  while ((8 + text.length) % 8 !== 0) text += ' ';
  const fh = await open(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    await fh.write(len);
    await fh.write(Buffer.from(text));
    const chunk = new Float32Array((8 * MiB) / 4);
    let seed = 7;
    for (let i = 0; i < chunk.length; i++) {
      // Sum of uniforms: roughly normal, sd 0.02, as trained weights are.
      seed = (seed * 1103515245 + 12345) >>> 0;
      const a = seed / 2 ** 32;
      seed = (seed * 1103515245 + 12345) >>> 0;
      chunk[i] = (a + seed / 2 ** 32 - 1) * 0.035;
    }
    let left = tensors * per * 4;
    while (left > 0) {
      const n = Math.min(left, chunk.byteLength);
      await fh.write(new Uint8Array(chunk.buffer, 0, n));
      left -= n;
    }
  } finally {
    await fh.close();
  }
}

async function sha256sum(path: string): Promise<number> {
  const t = process.hrtime.bigint();
  await run('sha256sum', [path]);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function fakeRun(artifactId: string, name: string, sizeBytes: number) {
  const state = foldEvents(runDecider, [
    {
      type: 'model.acquired',
      data: {
        kind: 'file',
        name,
        sizeBytes,
        digest: `sha256:${artifactId}`,
        source: { via: 'import' },
      },
      meta: { id: 'bench', time: new Date().toISOString(), correlationId: 'bench' },
    },
  ]);
  return state.run!;
}

async function quarantineOnce(
  source: string,
  qdir: string,
  bundle: PolicyBundle,
): Promise<{
  seconds: number;
  stages: Record<string, number>;
  servicePeakKiB: number;
  workerPeakKiB: Record<string, number>;
  failed: string | null;
}> {
  const child = await run(process.execPath, [INTAKE_CHILD, source, qdir], { maxBuffer: 1 << 20 });
  const intake = JSON.parse(child.stdout) as {
    snap: Awaited<ReturnType<typeof snapshotArtifact>>;
    seconds: number;
    maxRssKiB: number;
  };
  const snap = intake.snap;
  if (!snap.ok) throw new Error(`intake refused: ${snap.reason}`);
  const stages: Record<string, number> = { intake: intake.seconds };
  const workerPeakKiB: Record<string, number> = {};
  const quarantineRun = fakeRun(snap.digest.slice(7), snap.name, snap.sizeBytes);
  let failed: string | null = null;
  for (const stage of STAGES) {
    const s = process.hrtime.bigint();
    const outcome = await sandboxedStages(stage, {
      run: quarantineRun,
      artifact: { path: snap.path, kind: 'file', signaturePath: null },
      bundle,
      behaviorThreads: 1,
    });
    stages[stage] = Number(process.hrtime.bigint() - s) / 1e9;
    workerPeakKiB[stage] = Number(outcome.result.peak_rss_kib ?? 0);
    if (!outcome.passed) {
      failed = `${stage}: ${outcome.reasonCode} ${outcome.detail}`;
      break;
    }
  }
  // Intake as timed inside its process (the service imports its code once, at start), plus the
  // wall time of each stage with its worker's start-up (paid on every run).
  const seconds = Object.values(stages).reduce((a, b) => a + b, 0);
  await removeTree(join(qdir, 'artifacts'));
  return { seconds, stages, servicePeakKiB: intake.maxRssKiB, workerPeakKiB, failed };
}

/**
 * (h) Quarantine of a large safetensors and GGUF file (intake copy + hash and the five stages
 * before the behavioural test, each in its sandboxed worker) against `sha256sum` of the same file
 * in the same run, medians of `runs`; peak memory of the service side and of each worker.
 */
export async function supplyChainBench(
  sizeBytes: number,
  runs: number,
  log: (m: string) => void,
): Promise<SupplyChainFigures[]> {
  const dir = await mkdtemp(join(tmpdir(), 'secai-bench-supply-'));
  // The bundle the quarantine would bind to once the engine recorded the shipped policy.
  const shipped = await loadPolicyDir(DEFAULT_POLICY_DIR);
  if (!shipped.ok) throw new Error('the shipped policy does not load');
  const loaded = await loadPolicyBundle(
    { digest: shipped.snapshot.digest, documents: shipped.snapshot.canonicalDocuments },
    DEFAULT_POLICY_DIR,
  );
  if (!loaded.ok) throw new Error(loaded.problem);
  const out: SupplyChainFigures[] = [];
  try {
    for (const format of ['safetensors', 'gguf'] as const) {
      const path = join(dir, `large.${format}`);
      log(`supply chain: writing a ${Math.round(sizeBytes / MiB)} MiB ${format} file`);
      if (format === 'safetensors') await writeLargeSafetensors(path, sizeBytes);
      else {
        // ~1 GiB of F32 llama weights: 2048 wide, layers added until the size is reached.
        const perLayer = (4 * 2048 * 2048 + 3 * 2048 * 5632) * 4;
        await writeTinyLlamaGguf(path, {
          seed: 5,
          nEmbd: 2048,
          nHead: 16,
          nHeadKv: 16,
          nFf: 5632,
          nLayer: Math.max(1, Math.round(sizeBytes / perLayer)),
        });
      }
      await sha256sum(path); // warm the page cache for both sides alike
      const sums: number[] = [];
      const qs: Awaited<ReturnType<typeof quarantineOnce>>[] = [];
      for (let i = 0; i < runs; i++) {
        sums.push(await sha256sum(path));
        qs.push(await quarantineOnce(path, join(dir, 'q'), loaded.bundle));
      }
      const { size } = await stat(path);
      const qMedian = median(qs.map((q) => q.seconds));
      const sMedian = median(sums);
      const stages: Record<string, number> = {};
      for (const k of Object.keys(qs[0]!.stages))
        stages[k] = median(qs.map((q) => q.stages[k] ?? 0));
      out.push({
        format,
        sizeBytes: size,
        sha256sumSeconds: sMedian,
        quarantineSeconds: qMedian,
        ratio: Math.round((qMedian / sMedian) * 100) / 100,
        stages,
        servicePeakKiB: Math.max(...qs.map((q) => q.servicePeakKiB)),
        workerPeakKiB: qs.at(-1)!.workerPeakKiB,
        passed: qs.every((q) => q.failed === null),
        failed: qs.find((q) => q.failed !== null)?.failed ?? null,
      });
      await rm(path, { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

export function supplyChainRows(figures: readonly SupplyChainFigures[], runs: number): Row[] {
  return figures.flatMap((f): Row[] => {
    const mib = Math.round(f.sizeBytes / MiB);
    const stageText = Object.entries(f.stages)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
    const workers = Object.entries(f.workerPeakKiB)
      .map(([k, v]) => `${k} ${Math.round(v / 1024)}`)
      .join(', ');
    return [
      {
        measure: `h. quarantine ${mib} MiB ${f.format}`,
        n: 1,
        runs,
        value: `${f.quarantineSeconds.toFixed(2)} s = ${f.ratio}× sha256sum`,
        spread: `sha256sum ${f.sha256sumSeconds.toFixed(2)} s; goal ≤ 2×${f.passed ? '' : `; FAILED ${f.failed ?? ''}`}`,
        note: `intake + 5 stages, no behavioural test; stage medians (s): ${stageText}`,
      },
      {
        measure: `h. ${f.format} peak RSS`,
        n: 1,
        runs,
        value: `intake ${Math.round(f.servicePeakKiB / 1024)} MiB`,
        spread: `workers (MiB): ${workers}`,
        note: 'maxRSS of the intake process and of each stage worker (the yara child not included)',
      },
    ];
  });
}

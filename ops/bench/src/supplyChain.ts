import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rename, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { foldEvents } from '@secai/contracts';
import { DEFAULT_POLICY_DIR, loadPolicyDir } from '@secai/policy-engine';
import type { Snapshot, Refusal } from '@secai/quarantine';
import {
  loadPolicyBundle,
  removeTree,
  runDecider,
  runStagesInPlanOrder,
  type PolicyBundle,
  type SandboxedStage,
} from '@secai/quarantine';
import { ModelStore } from '@secai/registry';
import { writeLargeModel, type ModelFormat } from './modelFiles.js';
import type { Row } from './report.js';
import { median } from './stats.js';

const run = promisify(execFile);
const INTAKE_CHILD = fileURLToPath(new URL('./intakeChild.js', import.meta.url));
const MiB = 1024 * 1024;
/** Issue 11 §6: import / sha256sum of the same file, same run. */
export const IMPORT_FLOOR = 2.0;
export const IMPORT_GOAL = 1.2;

/**
 * How the bytes come into custody: `copy` is a user's `secai model import PATH` (the user keeps
 * the file), `rename` an inbox drop (the service may consume it).
 */
export type CustodyMode = 'copy' | 'rename';
export const CUSTODY_MODES: readonly CustodyMode[] = ['copy', 'rename'];

// The source policy is not a sandboxed stage: it is one question to the policy engine (a local
// import passes without one).
const STAGES: SandboxedStage[] = ['format_gate', 'hash_pin', 'provenance', 'static_scan'];

/** One import of one file, in seconds. */
interface ImportRun {
  /** Intake (timed inside its process) plus each stage's wall time with its worker's start-up. */
  importSeconds: number;
  /** The registry's promotion: custody rename out of the quarantine and re-hash, then publish. */
  registrySeconds: number;
  /** Where the time went: intake phases, each stage's `durationMs` (as its event carries it), registry. */
  parts: Record<string, number>;
  custody: Snapshot['custody'];
  /** Why a consumed drop was copied after all. */
  custodyNote: string | null;
  servicePeakKiB: number;
  workerPeakKiB: Record<string, number>;
  failed: string | null;
}

export interface ModeFigures {
  mode: CustodyMode;
  /** What intake did in the last run (`rename` falls back to a copy when its rule does not hold). */
  custody: Snapshot['custody'];
  importSeconds: number;
  /** Median import / median sha256sum. */
  ratio: number;
  ratioPerRun: number[];
  registrySeconds: number;
  /** (import + registry) / sha256sum: the bytes served from the store. */
  throughPromotionRatio: number;
  /** Medians, seconds. */
  parts: Record<string, number>;
  servicePeakKiB: number;
  workerPeakKiB: Record<string, number>;
  passed: boolean;
  failed: string | null;
}

export interface SupplyChainFigures {
  format: ModelFormat;
  sizeBytes: number;
  runs: number;
  /** Median seconds of `sha256sum` over the same file, same runs. */
  sha256sumSeconds: number;
  modes: ModeFigures[];
}

async function sha256sum(path: string): Promise<number> {
  const t = process.hrtime.bigint();
  await run('sha256sum', [path]);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const secondsSince = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

/**
 * Moves a consumed file back out of its read-only `<hex>` directory into a private directory of
 * its own, as the inbox's claim holds a drop, to be dropped again.
 */
async function putBack(from: string, to: string): Promise<void> {
  await chmod(dirname(from), 0o700);
  await mkdir(dirname(to), { recursive: true, mode: 0o700 });
  await rename(from, to);
  await chmod(to, 0o644);
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

/**
 * Intake in its own process, the four sandboxed stages before the behavioural test, then what the
 * registry does on promotion (ModelStore.takeCustody: rename out of the quarantine and re-hash;
 * publish). The file is then put back where it was for the next run.
 */
async function importOnce(
  source: string,
  stateDir: string,
  mode: CustodyMode,
  bundle: PolicyBundle,
  store: ModelStore,
): Promise<ImportRun> {
  const qdir = join(stateDir, 'quarantine');
  const child = await run(process.execPath, [INTAKE_CHILD, source, qdir, mode], {
    maxBuffer: 1 << 20,
  });
  const intake = JSON.parse(child.stdout) as {
    snap: Snapshot | Refusal;
    seconds: number;
    phases: Record<string, number>;
    maxRssKiB: number;
  };
  const snap = intake.snap;
  if (!snap.ok) throw new Error(`intake refused: ${snap.reason}: ${snap.detail}`);
  const hex = snap.digest.slice('sha256:'.length);
  const parts: Record<string, number> = {};
  for (const [phase, s] of Object.entries(intake.phases)) parts[`intake ${phase}`] = s;
  const workerPeakKiB: Record<string, number> = {};
  const quarantineRun = fakeRun(hex, snap.name, snap.sizeBytes);
  let failed: string | null = null;
  // As the coordinator runs them: the read-only stages beside each other, outcomes taken in plan
  // order up to the first failure.
  const s = process.hrtime.bigint();
  const recorded = await runStagesInPlanOrder(STAGES, {
    run: quarantineRun,
    artifact: { path: snap.path, kind: 'file', signaturePath: null },
    bundle,
    behaviorThreads: 1,
  });
  const stageSeconds = secondsSince(s);
  for (const { stage, outcome } of recorded) {
    parts[stage] = outcome.durationMs / 1000;
    workerPeakKiB[stage] = Number(outcome.result.peak_rss_kib ?? 0);
    if (!outcome.passed) failed = `${stage}: ${outcome.reasonCode} ${outcome.detail}`;
  }
  let registrySeconds = 0;
  if (failed === null) {
    let t = process.hrtime.bigint();
    const observed = await store.takeCustody(hex, snap.name);
    parts['registry custody + re-hash'] = secondsSince(t);
    if (observed.kind !== 'hashed' || observed.digest !== snap.digest)
      throw new Error(`the registry observed ${JSON.stringify(observed)}`);
    t = process.hrtime.bigint();
    const stored = await store.publish(hex, snap.name);
    parts['registry publish'] = secondsSince(t);
    registrySeconds = parts['registry custody + re-hash'] + parts['registry publish'];
    // The inbox drop's bytes go back to be dropped again (same inode, still in the page cache).
    if (snap.custody === 'renamed') await putBack(stored, source);
  } else if (snap.custody === 'renamed') await putBack(snap.path, source);
  await removeTree(join(qdir, 'artifacts'));
  await removeTree(join(stateDir, 'registry', 'store', 'sha256', hex));
  return {
    importSeconds: intake.seconds + stageSeconds,
    registrySeconds,
    parts,
    custody: snap.custody,
    custodyNote: snap.custodyNote ?? null,
    servicePeakKiB: intake.maxRssKiB,
    workerPeakKiB,
    failed,
  };
}

function modeFigures(mode: CustodyMode, runs: ImportRun[], sums: number[]): ModeFigures {
  const sMedian = median(sums);
  const importSeconds = median(runs.map((r) => r.importSeconds));
  const registrySeconds = median(runs.map((r) => r.registrySeconds));
  const parts: Record<string, number> = {};
  for (const k of new Set(runs.flatMap((r) => Object.keys(r.parts))))
    parts[k] = median(runs.map((r) => r.parts[k] ?? 0));
  const round2 = (x: number) => Math.round(x * 100) / 100;
  return {
    mode,
    custody: runs.at(-1)!.custody,
    importSeconds,
    ratio: round2(importSeconds / sMedian),
    ratioPerRun: runs.map((r, i) => round2(r.importSeconds / sums[i]!)),
    registrySeconds,
    throughPromotionRatio: round2(
      median(runs.map((r) => r.importSeconds + r.registrySeconds)) / sMedian,
    ),
    parts,
    servicePeakKiB: Math.max(...runs.map((r) => r.servicePeakKiB)),
    workerPeakKiB: runs.at(-1)!.workerPeakKiB,
    passed: runs.every((r) => r.failed === null),
    failed: runs.find((r) => r.failed !== null)?.failed ?? null,
  };
}

/**
 * (h) Import of a large safetensors and GGUF file (intake and the four sandboxed stages before
 * the behavioural test), once copied as a user's import and once moved as an inbox drop, against
 * `sha256sum` of the same file in the same runs (interleaved: sha256sum, copy, rename), medians
 * of `runs`; the registry's promotion beside it; peak memory of intake and of each worker.
 */
export async function supplyChainBench(
  sizeBytes: number,
  runs: number,
  log: (m: string) => void,
): Promise<SupplyChainFigures[]> {
  const dir = await mkdtemp(join(tmpdir(), 'secai-bench-supply-'));
  const stateDir = join(dir, 'state');
  await mkdir(join(stateDir, 'quarantine'), { recursive: true });
  const store = new ModelStore(stateDir);
  await store.open();
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
      // Alone in a private directory, as the inbox's claim holds a drop.
      const path = join(dir, 'drop', `large.${format}`);
      await mkdir(dirname(path), { mode: 0o700 });
      log(`supply chain: writing a ${Math.round(sizeBytes / MiB)} MiB ${format} file`);
      await writeLargeModel(format, path, sizeBytes);
      const { size } = await stat(path);
      await sha256sum(path); // warm the page cache for every side alike
      const sums: number[] = [];
      const byMode = new Map<CustodyMode, ImportRun[]>(CUSTODY_MODES.map((m) => [m, []]));
      for (let i = 0; i < runs; i++) {
        sums.push(await sha256sum(path));
        for (const mode of CUSTODY_MODES) {
          const r = await importOnce(path, stateDir, mode, loaded.bundle, store);
          byMode.get(mode)!.push(r);
          log(
            `supply chain: ${format} run ${i + 1}/${runs} ${mode}: import ${r.importSeconds.toFixed(2)} s = ${(r.importSeconds / sums.at(-1)!).toFixed(2)}× sha256sum ${sums.at(-1)!.toFixed(2)} s (${r.custodyNote ?? r.custody}); registry ${r.registrySeconds.toFixed(2)} s`,
          );
        }
      }
      out.push({
        format,
        sizeBytes: size,
        runs,
        sha256sumSeconds: median(sums),
        modes: CUSTODY_MODES.map((m) => modeFigures(m, byMode.get(m)!, sums)),
      });
      await removeTree(dirname(path));
    }
  } finally {
    await removeTree(dir);
  }
  return out;
}

const MODE_LABEL: Record<CustodyMode, string> = {
  copy: "user's import (copy)",
  rename: 'inbox drop (rename)',
};

function judged(ratio: number): string {
  const floor = ratio <= IMPORT_FLOOR ? 'PASS' : 'MISS';
  const goal = ratio <= IMPORT_GOAL ? 'met' : 'MISSED';
  return `floor ${IMPORT_FLOOR.toFixed(1)}×: ${floor}, goal ${IMPORT_GOAL}×: ${goal}`;
}

export function supplyChainRows(figures: readonly SupplyChainFigures[]): Row[] {
  return figures.flatMap((f): Row[] => {
    const mib = Math.round(f.sizeBytes / MiB);
    const rows = f.modes.map((m): Row => ({
      measure: `h. import ${mib} MiB ${f.format}, ${MODE_LABEL[m.mode]}`,
      n: 1,
      runs: f.runs,
      value: `${m.importSeconds.toFixed(2)} s = ${m.ratio.toFixed(2)}× sha256sum`,
      spread: `per run ${Math.min(...m.ratioPerRun).toFixed(2)}–${Math.max(...m.ratioPerRun).toFixed(2)}×; ${judged(m.ratio)}${m.passed ? '' : `; FAILED ${m.failed ?? ''}`}`,
      note: `sha256sum ${f.sha256sumSeconds.toFixed(2)} s; intake (${m.custody}) + 4 sandboxed stages, no behavioural test; + registry store ${m.registrySeconds.toFixed(2)} s = ${m.throughPromotionRatio.toFixed(2)}× through promotion`,
    }));
    const m = f.modes[0]!;
    rows.push({
      measure: `h. ${f.format} peak RSS`,
      n: 1,
      runs: f.runs,
      value: `intake ${Math.round(Math.max(...f.modes.map((x) => x.servicePeakKiB)) / 1024)} MiB`,
      spread: `workers (MiB): ${Object.entries(m.workerPeakKiB)
        .map(([k, v]) => `${k} ${Math.round(v / 1024)}`)
        .join(', ')}`,
      note: 'maxRSS of the intake process and of each stage worker (the yara child not included)',
    });
    return rows;
  });
}

/** The order an import goes through its parts. */
const PART_ORDER = [
  'intake plan',
  'intake custody',
  'intake read',
  'intake sync',
  'intake publish',
  ...STAGES,
  'registry custody + re-hash',
  'registry publish',
];
const partRank = (part: string): number => {
  const at = PART_ORDER.indexOf(part);
  return at < 0 ? PART_ORDER.length : at;
};

/**
 * Where the time goes: every part's median, per mode, beside sha256sum. Intake's phases are timed
 * inside its process; a stage's figure is its `durationMs`, as `quarantine.stage.*` records it.
 */
export function supplyChainBreakdown(figures: readonly SupplyChainFigures[]): string {
  return figures
    .map((f) => {
      const keys = [...new Set(f.modes.flatMap((m) => Object.keys(m.parts)))].sort(
        (a, b) => partRank(a) - partRank(b),
      );
      const width = Math.max(28, ...keys.map((k) => k.length));
      const col = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(2)).padStart(10);
      const head = `${''.padEnd(width)}${f.modes.map((m) => m.mode.padStart(10)).join('')}`;
      const line = (label: string, pick: (m: ModeFigures) => number | undefined) =>
        `${label.padEnd(width)}${f.modes.map((m) => col(pick(m))).join('')}`;
      return [
        `h. where the time goes: ${Math.round(f.sizeBytes / MiB)} MiB ${f.format}, seconds, medians of ${f.runs} runs (sha256sum ${f.sha256sumSeconds.toFixed(2)} s)`,
        head,
        ...keys.map((k) => line(k, (m) => m.parts[k])),
        line('import (intake + stages)', (m) => m.importSeconds),
        line('  / sha256sum', (m) => m.ratio),
        line('through promotion / sha256sum', (m) => m.throughPromotionRatio),
      ].join('\n');
    })
    .join('\n\n');
}

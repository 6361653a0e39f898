import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Observer, diffRecords, type FileRecord } from '@secai/integrity-monitor';
import type { Row } from './report.js';
import { median } from './stats.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface IntegrityBenchOptions {
  /** Files in the generated tree (default 10,000). */
  files?: number;
  /** Their total size in bytes (default 1 GiB). */
  totalBytes?: number;
  /** Timed runs of each tool; medians are reported (default 3). */
  runs?: number;
  log?: (message: string) => void;
}

export interface IntegrityFigures {
  files: number;
  totalBytes: number;
  directories: number;
  runs: number;
  /** Seconds of each run: the monitor's full scan of one class over the tree. */
  monitorRuns: number[];
  /** `find -print0 | xargs -0 sha256sum` over the same files. */
  sha256sumRuns: number[];
  /** `aide --check` against a database made by `aide --init` over the same tree; null without aide. */
  aideRuns: number[] | null;
  aideInitSeconds: number | null;
  aideVersion: string | null;
  monitorSeconds: number;
  sha256sumSeconds: number;
  aideSeconds: number | null;
  /** Monitor median / sha256sum median (goal ≤ 1). */
  ratioToSha256sum: number;
  /** Monitor median / aide median (goal < 1). */
  ratioToAide: number | null;
  /** The scan found no difference against its own baseline (a sanity check of every run). */
  clean: boolean;
}

/** A deterministic generator, so every run writes the same tree. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Writes `files` files totalling `totalBytes` into 100 top-level directories with one level of
 * subdirectories below (an installed tree's shape): sizes spread from 0.1× to 1.9× the mean.
 */
async function writeTree(
  root: string,
  files: number,
  totalBytes: number,
): Promise<{ directories: number; bytes: number }> {
  const random = lcg(42);
  const mean = totalBytes / files;
  const sizes = Array.from({ length: files }, () => Math.floor(mean * (0.1 + 1.8 * random())));
  const sum = sizes.reduce((a, b) => a + b, 0);
  sizes[files - 1] = Math.max(0, sizes[files - 1]! + totalBytes - sum);
  const block = Buffer.alloc(8 * MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((random() * 2 ** 32) >>> 0, i);
  const dirs = new Set<string>();
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const dir = join(root, `d${String(i % 100).padStart(2, '0')}`, `s${i % 7}`);
    if (!dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      dirs.add(dir);
    }
    const size = sizes[i]!;
    const fh = await open(join(dir, `f${i}.bin`), 'w');
    try {
      // Each file starts at its own offset of the block, so no two files are equal.
      let left = size;
      let offset = (i * 4099) % (block.length - 1);
      while (left > 0) {
        const n = Math.min(left, block.length - offset);
        await fh.write(block, offset, n);
        left -= n;
        offset = 0;
      }
    } finally {
      await fh.close();
    }
    bytes += size;
  }
  return { directories: dirs.size + 100, bytes };
}

async function seconds(action: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await action();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function aideVersion(): Promise<string | null> {
  try {
    const { stdout } = await run('aide', ['--version'], { maxBuffer: 1 << 20 });
    return /AIDE\s+(\S+)/.exec(stdout)?.[1] ?? 'unknown';
  } catch {
    return null;
  }
}

/**
 * (i) The integrity monitor's full scan over a generated tree (default 10,000 files, 1 GiB)
 * against `sha256sum` over the same files and against AIDE's `aide --check` (Debian package
 * `aide`; skipped, and said so, when it is not installed), all with the page cache warm, runs
 * interleaved, medians reported. The monitor's scan is what a periodic scan does for one path
 * class: expand, walk (no link followed), hash every file, read modes and owners, compare with
 * the baseline; nothing differs, so nothing is appended to the bus.
 */
export async function integrityBench(
  options: IntegrityBenchOptions = {},
): Promise<IntegrityFigures> {
  const files = options.files ?? 10_000;
  const totalBytes = options.totalBytes ?? GiB;
  const runs = options.runs ?? 3;
  const log = options.log ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'secai-bench-integrity-'));
  const tree = join(dir, 'tree');
  try {
    log(`integrity: writing ${files} files, ${Math.round(totalBytes / MiB)} MiB`);
    const { directories } = await writeTree(tree, files, totalBytes);
    const sha256sum = () =>
      run(
        'bash',
        ['-c', 'find "$1" -type f -print0 | xargs -0 sha256sum > /dev/null', 'bench', tree],
        {
          maxBuffer: 1 << 20,
        },
      );
    const observer = new Observer();
    const set = { patterns: [tree], exclude: [] };
    const baseline: Map<string, FileRecord> = (await observer.observeSet(set)).records;
    let clean = true;
    const monitorScan = async () => {
      const observed = await observer.observeSet(set);
      if (diffRecords(baseline, observed.records).length > 0) clean = false;
    };

    const version = await aideVersion();
    let aideInitSeconds: number | null = null;
    const conf = join(dir, 'aide.conf');
    if (version) {
      // The same facts the monitor keeps: permissions, owner, group, size, link, type, SHA-256.
      await writeFile(
        conf,
        [
          `database_in=file:${join(dir, 'aide.db')}`,
          `database_out=file:${join(dir, 'aide.db.new')}`,
          'gzip_dbout=no',
          'report_url=file:/dev/null',
          'IM = p+u+g+s+l+ftype+sha256',
          `${tree} IM`,
          '',
        ].join('\n'),
      );
      aideInitSeconds = await seconds(() =>
        run('aide', ['--init', '-c', conf], { maxBuffer: 1 << 24 }),
      );
      await rename(join(dir, 'aide.db.new'), join(dir, 'aide.db'));
    } else log('integrity: aide is not installed (apt-get install aide): AIDE figures skipped');
    const aideCheck = () => run('aide', ['--check', '-c', conf], { maxBuffer: 1 << 24 });

    // Warm the page cache for every tool alike, then interleave the timed runs.
    await sha256sum();
    await monitorScan();
    const monitorRuns: number[] = [];
    const sha256sumRuns: number[] = [];
    const aideRuns: number[] = [];
    for (let i = 0; i < runs; i++) {
      log(`integrity: run ${i + 1}/${runs}`);
      monitorRuns.push(await seconds(monitorScan));
      sha256sumRuns.push(await seconds(sha256sum));
      if (version) aideRuns.push(await seconds(aideCheck));
    }
    const monitorSeconds = median(monitorRuns);
    const sha256sumSeconds = median(sha256sumRuns);
    const aideSeconds = version ? median(aideRuns) : null;
    const round = (v: number) => Math.round(v * 1000) / 1000;
    return {
      files,
      totalBytes,
      directories,
      runs,
      monitorRuns: monitorRuns.map(round),
      sha256sumRuns: sha256sumRuns.map(round),
      aideRuns: version ? aideRuns.map(round) : null,
      aideInitSeconds: aideInitSeconds === null ? null : round(aideInitSeconds),
      aideVersion: version,
      monitorSeconds: round(monitorSeconds),
      sha256sumSeconds: round(sha256sumSeconds),
      aideSeconds: aideSeconds === null ? null : round(aideSeconds),
      ratioToSha256sum: round(monitorSeconds / sha256sumSeconds),
      ratioToAide: aideSeconds === null ? null : round(monitorSeconds / aideSeconds),
      clean,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function integrityRows(f: IntegrityFigures): Row[] {
  const size = `${f.files.toLocaleString('en-US')} files, ${Math.round(f.totalBytes / MiB)} MiB`;
  const goals = [
    `sha256sum ${f.sha256sumSeconds.toFixed(2)} s (${f.ratioToSha256sum}×, goal ≤ 1)`,
    f.aideSeconds === null
      ? 'aide not installed'
      : `aide --check ${f.aideSeconds.toFixed(2)} s (${f.ratioToAide}×, goal < 1)`,
  ];
  return [
    {
      measure: `i. integrity full scan, ${size}`,
      n: 0,
      runs: f.runs,
      value: `${f.monitorSeconds.toFixed(2)} s`,
      spread: goals.join('; '),
      note: `walk + SHA-256 + mode/owner/link of every file, compared with the baseline, one thread${f.clean ? '' : '; DIFFERENCES FOUND'}`,
    },
  ];
}

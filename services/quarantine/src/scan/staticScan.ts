// The static scan stage's scanners (issue 4 §3.5, reference §2.5), called by the sandboxed worker
// `workers/staticScan.ts`: YARA (the real binary, shipped rules, every byte), embedded pickles
// (pickles.ts, every byte), entropy windows inside the weights (entropy.ts), the reference
// weight_stats and gguf-guard checks (ggufGuard.ts). A directory (diffusers) gets YARA over the
// tree, the pickle scan of every file, and entropy and weights of every safetensors file. Every
// sub-scan runs (no short-circuit); the rule that turns what they observed into the verdict is
// `staticScanVerdict` in stages/staticScan.ts (pure).
import { join } from 'node:path';
import { inspectDiffusersDirectory } from '@secai/formats';
import { inspectGguf } from '@secai/formats';
import type { GgufAccepted } from '@secai/formats';
import { inspectSafetensors } from '@secai/formats';
import { sampleEntropy } from './entropy.js';
import { ggufWeightReport, safetensorsWeightReport } from './ggufGuard.js';
import { scanFileForPickles } from './pickles.js';
import { quantThresholdsOf, weightThresholdsOf, type StaticScanThresholds } from './thresholds.js';
import { runYara } from './yara.js';
import {
  staticScanVerdict,
  type StaticScanFile,
  type StaticScanReason,
} from '../stages/staticScan.js';
import type { ReaderLimits } from '../stages/formatLimits.js';
import { safeText, type StageFacts, type StageVerdict } from '../stages/verdict.js';

export { safeLabel, safeText } from '../stages/verdict.js';
export type { StaticScanReason };
export type ScanStageFacts = StageFacts;
export type ScanStageVerdict = StageVerdict;

export interface StaticScanOptions {
  /** Tests only: another yara binary or rules file. */
  yaraBinary?: string;
  rulesPath?: string;
  /** The readers' bounds from policy (`quarantine.format_gate`); the readers' defaults if absent. */
  readerLimits?: Pick<ReaderLimits, 'gguf' | 'safetensors' | 'diffusers'>;
}

type Readers = StaticScanOptions['readerLimits'];

async function scanFile(
  path: string,
  rel: string,
  t: StaticScanThresholds,
  analyseWeights: boolean,
  readers: Readers,
): Promise<StaticScanFile> {
  const pickles = await scanFileForPickles(path, {
    opcodeBudgetPerMiB: t.pickleOpcodesPerMiB,
    maxStreams: t.pickleMaxStreams,
  });
  const base = { rel, pickles };
  if (!analyseWeights) return { ...base, format: 'unknown', formatDetail: 'not a weight file' };
  const weightOptions = {
    maxElements: t.maxElementsPerTensor,
    thresholds: weightThresholdsOf(t),
    quant: quantThresholdsOf(t),
  };
  const entropyOptions = {
    samples: t.entropySamples,
    sampleBytes: t.entropySampleBytes,
    nearRandomBitsPerByte: t.entropyMaxBitsPerByte,
  };
  const gguf = await inspectGguf(path, readers?.gguf);
  if (gguf.ok) {
    return {
      ...base,
      format: 'gguf',
      formatDetail: `GGUF v${gguf.version}`,
      entropy: await sampleEntropy(path, { ...entropyOptions, weightRegions: ggufRegions(gguf) }),
      weights: await ggufWeightReport(path, gguf, weightOptions),
    };
  }
  if (gguf.reason !== 'bad_magic')
    return { ...base, format: 'unknown', formatDetail: `gguf_${gguf.reason}` };
  const st = await inspectSafetensors(path, readers?.safetensors);
  if (st.ok) {
    const start = 8 + st.headerLength;
    return {
      ...base,
      format: 'safetensors',
      formatDetail: 'safetensors',
      entropy: await sampleEntropy(path, {
        ...entropyOptions,
        weightRegions: [{ start, end: start + st.dataLength }],
      }),
      weights: await safetensorsWeightReport(path, st, weightOptions),
    };
  }
  return { ...base, format: 'unknown', formatDetail: `safetensors_${st.reason}` };
}

function ggufRegions(g: GgufAccepted): { start: number; end: number }[] {
  return g.tensors.map((x) => ({
    start: g.dataOffset + x.offset,
    end: g.dataOffset + x.offset + x.sizeBytes,
  }));
}

/** Runs the whole static scan on a snapshotted file or diffusers directory. Never throws. */
export async function staticScan(
  request: { path: string; kind: 'file' | 'directory' },
  thresholds: StaticScanThresholds,
  options: StaticScanOptions = {},
): Promise<ScanStageVerdict> {
  try {
    // YARA (its own process) reads the file while this one runs the pickle, entropy and weight
    // scans: on two cores the stage takes about as long as the slower of the two, not the sum.
    const yaraRun = runYara(request.path, {
      timeoutMs: thresholds.yaraTimeoutMs,
      ...(options.yaraBinary !== undefined ? { yaraBinary: options.yaraBinary } : {}),
      ...(options.rulesPath !== undefined ? { rulesPath: options.rulesPath } : {}),
    });
    const files: StaticScanFile[] = [];
    if (request.kind === 'file') {
      files.push(await scanFile(request.path, '', thresholds, true, options.readerLimits));
    } else {
      const tree = await inspectDiffusersDirectory(request.path, options.readerLimits?.diffusers);
      if (!tree.ok) {
        await yaraRun;
        return staticScanVerdict(
          { kind: 'directory', refused: tree.reason ?? 'directory refused' },
          thresholds,
        );
      }
      for (const f of tree.files) {
        files.push(
          await scanFile(
            join(request.path, f.path),
            f.path,
            thresholds,
            f.kind === 'safetensors',
            options.readerLimits,
          ),
        );
      }
    }
    return staticScanVerdict({ kind: request.kind, yara: await yaraRun, files }, thresholds);
  } catch (err) {
    return {
      passed: false,
      reasonCode: 'scan_error',
      detail: safeText(`static scan error: ${String((err as Error)?.message ?? err)}`),
      facts: {},
    };
  }
}

// The static scan stage's logic (issue 4 §3.5, reference §2.5), called by the sandboxed worker
// `workers/staticScan.ts`. Like the reference it runs every sub-scan (no short-circuit) and then
// fails with the first failing one, in this order:
//   1. YARA (the real binary, shipped rules, every byte): not runnable ⇒ `yara_missing`,
//      `yara_failed`, `yara_timeout`, `yara_rules_invalid` (fail closed); any match ⇒ `yara_match`.
//   2. Embedded pickles (pickles.ts, every byte): `pickle_malicious`, `pickle_suspicious`,
//      `pickle_scan_incomplete`, `pickle_embedded`.
//   3. Entropy (entropy.ts, windows inside the weights): `entropy_near_random`.
//   4. Format: a file that is neither GGUF nor safetensors ⇒ `unsupported_format` (the format gate
//      refuses those first; a directory's non-model files get YARA and the pickle scan only).
//   5. Reference weight_stats: any |mean|, variance, kurtosis or zero-fraction anomaly ⇒
//      `weight_anomaly` (threshold `weightAnomalyFails`, default 1 as the reference).
//   6. gguf-guard verdict FAIL (any critical finding or score > 0.5) ⇒ `guard_fail`; WARN passes.
// Directories (diffusers): YARA over the tree, the pickle scan of every file, entropy and weights
// of every safetensors file; no safetensors ⇒ `no_safetensors`; a tree the diffusers inspection
// refuses ⇒ `directory_invalid`. Passing: `static_scan_ok`.
//
// Facts (flat, bounded, never model output): format, files_scanned, yara_matches, yara_rules,
// yara_version, pickle_streams, pickle_verdict, entropy_max, entropy_flagged, weights_checked,
// weights_skipped, guard_score, guard_verdict, findings, top_finding. Tensor names and paths come
// from the artifact: they are reduced to [A-Za-z0-9._:/-] before they enter a fact or the detail.
import { join } from 'node:path';
import { inspectDiffusersDirectory } from '@secai/formats';
import { inspectGguf } from '@secai/formats';
import type { GgufAccepted } from '@secai/formats';
import { inspectSafetensors } from '@secai/formats';
import { sampleEntropy, type EntropyReport } from './entropy.js';
import {
  bySeverity,
  ggufWeightReport,
  safetensorsWeightReport,
  type WeightReport,
} from './ggufGuard.js';
import { pickleVerdictFails, scanFileForPickles, type FilePickleScan } from './pickles.js';
import { quantThresholdsOf, weightThresholdsOf, type StaticScanThresholds } from './thresholds.js';
import { REFERENCE_WEIGHT_STATS_CODES, type WeightFinding } from './weights.js';
import { runYara, type YaraResult } from './yara.js';

export type ScanStageFacts = Record<string, string | number | boolean>;

export interface ScanStageVerdict {
  passed: boolean;
  reasonCode: string;
  detail: string;
  facts: ScanStageFacts;
}

export type StaticScanReason =
  | 'static_scan_ok'
  | 'invalid_params'
  | 'yara_missing'
  | 'yara_failed'
  | 'yara_timeout'
  | 'yara_rules_invalid'
  | 'yara_match'
  | 'pickle_malicious'
  | 'pickle_suspicious'
  | 'pickle_scan_incomplete'
  | 'pickle_embedded'
  | 'entropy_near_random'
  | 'unsupported_format'
  | 'weight_anomaly'
  | 'guard_fail'
  | 'directory_invalid'
  | 'no_safetensors'
  | 'scan_error';

export interface StaticScanOptions {
  /** Tests only: another yara binary or rules file. */
  yaraBinary?: string;
  rulesPath?: string;
}

/** What a fact or a detail may carry of a name taken from the artifact. */
export function safeLabel(s: string, max = 96): string {
  const cleaned = s.replace(/[^A-Za-z0-9._:/-]/g, '_');
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}~` : cleaned;
}

/** Free text for a detail: printable ASCII only, bounded. */
export function safeText(s: string, max = 300): string {
  const cleaned = s.replace(/[^\x20-\x7e]/g, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}~` : cleaned;
}

interface FileScan {
  rel: string;
  format: 'gguf' | 'safetensors' | 'unknown';
  formatDetail: string;
  pickles: FilePickleScan;
  entropy?: EntropyReport;
  weights?: WeightReport;
}

async function scanFile(
  path: string,
  rel: string,
  t: StaticScanThresholds,
  analyseWeights: boolean,
): Promise<FileScan> {
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
  const gguf = await inspectGguf(path);
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
  const st = await inspectSafetensors(path);
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

const YARA_REASON = {
  yara_missing: 'yara_missing',
  yara_failed: 'yara_failed',
  timeout: 'yara_timeout',
  rules_invalid: 'yara_rules_invalid',
} as const;

const findingLabel = (f: WeightFinding): string => `${safeLabel(f.tensor, 80)}:${f.code}`;

function decide(
  yara: YaraResult,
  files: readonly FileScan[],
  t: StaticScanThresholds,
  kind: 'file' | 'directory',
): ScanStageVerdict {
  const where = (f: FileScan): string => (kind === 'directory' ? `${safeLabel(f.rel)}: ` : '');
  const weightFindings = files.flatMap((f) => f.weights?.findings ?? []);
  const scored = weightFindings.filter((f) => f.code !== 'unsupported_type');
  const guardVerdicts = files.flatMap((f) => (f.weights ? [f.weights.verdict] : []));
  const guardVerdict = guardVerdicts.includes('FAIL')
    ? 'FAIL'
    : guardVerdicts.includes('WARN')
      ? 'WARN'
      : guardVerdicts.length > 0
        ? 'PASS'
        : 'NONE';
  const worstPickle = files.reduce<FilePickleScan['verdict']>((worst, f) => {
    const order = ['none', 'clean', 'embedded', 'incomplete', 'suspicious', 'malicious'];
    return order.indexOf(f.pickles.verdict) > order.indexOf(worst) ? f.pickles.verdict : worst;
  }, 'none');
  const flaggedWindows = files.flatMap((f) =>
    (f.entropy?.flagged ?? []).map((w) => ({ file: f, w })),
  );
  const yaraRules = yara.ok ? [...new Set(yara.matches.map((m) => m.rule))].sort() : [];
  const top = bySeverity(scored)[0];
  const facts: ScanStageFacts = {
    format: kind === 'directory' ? 'directory' : (files[0]?.format ?? 'unknown'),
    files_scanned: files.length,
    yara_matches: yara.ok ? yara.matches.length : 0,
    yara_rules: yaraRules.join(',').slice(0, 200),
    yara_version: yara.ok ? safeLabel(yara.version, 32) : '',
    pickle_streams: files.reduce((a, f) => a + f.pickles.streams, 0),
    pickle_verdict: worstPickle,
    entropy_max: round(Math.max(0, ...files.map((f) => f.entropy?.max ?? 0)), 4),
    entropy_flagged: flaggedWindows.length,
    weights_checked: files.reduce((a, f) => a + (f.weights?.tensorsAnalyzed ?? 0), 0),
    weights_skipped: files.reduce((a, f) => a + (f.weights?.tensorsSkipped ?? 0), 0),
    guard_score: round(Math.max(0, ...files.map((f) => f.weights?.score ?? 0)), 3),
    guard_verdict: guardVerdict,
    findings:
      (yara.ok ? yara.matches.length : 0) +
      files.reduce((a, f) => a + f.pickles.findings.length, 0) +
      flaggedWindows.length +
      scored.length,
    top_finding: top !== undefined ? findingLabel(top) : '',
  };
  const fail = (
    reasonCode: StaticScanReason,
    detail: string,
    topFinding?: string,
  ): ScanStageVerdict => ({
    passed: false,
    reasonCode,
    detail: detail.slice(0, 512),
    facts: topFinding !== undefined ? { ...facts, top_finding: topFinding } : facts,
  });

  if (!yara.ok) return fail(YARA_REASON[yara.reason], `yara: ${safeText(yara.detail)}`);
  if (yara.matches.length > 0)
    return fail(
      'yara_match',
      `YARA matched ${yaraRules.length} rule(s): ${yaraRules.join(', ')}`,
      `yara:${yaraRules[0] ?? ''}`,
    );
  if (pickleVerdictFails(worstPickle)) {
    const file = files.find((f) => f.pickles.verdict === worstPickle);
    const first = file?.pickles.findings.find((x) => x.verdict === worstPickle);
    const reason: StaticScanReason =
      worstPickle === 'malicious'
        ? 'pickle_malicious'
        : worstPickle === 'suspicious'
          ? 'pickle_suspicious'
          : worstPickle === 'incomplete'
            ? 'pickle_scan_incomplete'
            : 'pickle_embedded';
    return fail(
      reason,
      `${file ? where(file) : ''}${worstPickle} pickle stream at offset ${first?.offset ?? '?'}: ${safeText(first?.detail ?? '', 200)}`,
      `pickle:${worstPickle}`,
    );
  }
  const hot = flaggedWindows[0];
  if (hot !== undefined)
    return fail(
      'entropy_near_random',
      `${where(hot.file)}near-random entropy (${hot.w.bitsPerByte.toFixed(4)} bits/byte > ${t.entropyMaxBitsPerByte}) at offset ${hot.w.offset}: possible hidden payload`,
      'entropy:near_random',
    );
  if (kind === 'file') {
    const f = files[0];
    if (f === undefined || f.format === 'unknown')
      return fail(
        'unsupported_format',
        `not a GGUF or safetensors file (${safeText(f?.formatDetail ?? '', 100)})`,
      );
  }
  if (t.weightAnomalyFails === 1) {
    const anomalies = scored.filter((f) => REFERENCE_WEIGHT_STATS_CODES.has(f.code));
    const first = anomalies[0];
    if (first !== undefined)
      return fail(
        'weight_anomaly',
        `${anomalies.length} weight anomalies: ${anomalies
          .slice(0, 3)
          .map((a) => `${safeLabel(a.tensor, 80)}: ${a.detail}`)
          .join('; ')}`,
        findingLabel(first),
      );
  }
  if (guardVerdict === 'FAIL') {
    const worst = bySeverity(scored).slice(0, 3);
    return fail(
      'guard_fail',
      `gguf-guard FAIL score=${facts.guard_score as number}: ${worst
        .map((a) => `${safeLabel(a.tensor, 80)}: ${a.detail}`)
        .join('; ')}`,
    );
  }
  if (kind === 'directory' && !files.some((f) => f.format === 'safetensors'))
    return fail('no_safetensors', 'directory static scan found no safetensors files');
  return {
    passed: true,
    reasonCode: 'static_scan_ok',
    detail: `all static checks passed (gguf-guard ${guardVerdict} score=${facts.guard_score as number})`,
    facts,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
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
    const files: FileScan[] = [];
    if (request.kind === 'file') {
      files.push(await scanFile(request.path, '', thresholds, true));
    } else {
      const tree = await inspectDiffusersDirectory(request.path);
      if (!tree.ok) {
        await yaraRun;
        return {
          passed: false,
          reasonCode: 'directory_invalid',
          detail: safeText(tree.reason ?? 'directory refused'),
          facts: { format: 'directory', files_scanned: 0 },
        };
      }
      for (const f of tree.files) {
        files.push(
          await scanFile(join(request.path, f.path), f.path, thresholds, f.kind === 'safetensors'),
        );
      }
    }
    return decide(await yaraRun, files, thresholds, request.kind);
  } catch (err) {
    return {
      passed: false,
      reasonCode: 'scan_error',
      detail: safeText(`static scan error: ${String((err as Error)?.message ?? err)}`),
      facts: {},
    };
  }
}

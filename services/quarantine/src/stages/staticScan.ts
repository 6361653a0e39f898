// The static scan's rule (issue 4 §3.5, reference §2.5; pure, issue 11 §4): what the scanners
// observed in, one verdict out. `scan/staticScan.ts` runs the scanners; this decides. Like the
// reference every sub-scan has run, and the stage fails with the first failing one, in this order:
//   0. A directory the diffusers inspection refuses ⇒ `directory_invalid`.
//   1. YARA not runnable ⇒ `yara_missing`, `yara_failed`, `yara_timeout`, `yara_rules_invalid`
//      (fail closed); any match ⇒ `yara_match`.
//   2. The worst embedded pickle verdict, when ranked `pickleFailRank` (default: embedded) or worse
//      ⇒ `pickle_malicious`, `pickle_suspicious`, `pickle_scan_incomplete`, `pickle_embedded`,
//      `pickle_clean` (only when policy fails inert streams too).
//   3. A flagged entropy window (above `entropyMaxBitsPerByte`) ⇒ `entropy_near_random`.
//   4. A file that is neither GGUF nor safetensors ⇒ `unsupported_format`.
//   5. With `weightAnomalyFails` 1, any reference weight_stats finding (|mean|, variance, kurtosis,
//      zero fraction), whatever its severity ⇒ `weight_anomaly`.
//   6. gguf-guard FAIL (any critical finding, or a score above `guardFailScore`) ⇒ `guard_fail`;
//      WARN (warnings and info scoring above `guardWarnScore`) passes.
//   7. More of the weights' parameters in types the statistics cannot read (IQ1/IQ2/IQ3 grids,
//      ternary, FP8, ...) than `maxUnanalysedWeightFraction` (default 1: any share passes, with an
//      info finding) ⇒ `weights_not_analysed`.
//   8. A directory without a safetensors file ⇒ `no_safetensors`.
// Passing: `static_scan_ok`. Facts (flat, bounded, never model output): format, files_scanned,
// yara_matches, yara_rules, yara_version, pickle_streams, pickle_verdict, entropy_max,
// entropy_flagged, weights_checked, weights_skipped, weights_unanalysed_fraction,
// weights_unanalysed_types, guard_score, guard_verdict, findings, top_finding. Tensor names and
// paths come from the artifact: they are reduced to [A-Za-z0-9._:/-] before they enter a fact or
// the detail.
import type { EntropyReport } from '../scan/entropy.js';
import { bySeverity, type WeightReport } from '../scan/ggufGuard.js';
import {
  PICKLE_VERDICT_RANK,
  pickleVerdictFails,
  type FilePickleScan,
  type FilePickleVerdict,
} from '../scan/pickles.js';
import type { StaticScanThresholds } from '../scan/thresholds.js';
import {
  REFERENCE_WEIGHT_STATS_CODES,
  UNSCORED_WEIGHT_CODES,
  combineCoverage,
  describeCoverage,
  type WeightFinding,
} from '../scan/weights.js';
import type { YaraResult } from '../scan/yara.js';
import { safeLabel, safeText, type StageFacts, type StageVerdict } from './verdict.js';

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
  | 'pickle_clean'
  | 'entropy_near_random'
  | 'unsupported_format'
  | 'weight_anomaly'
  | 'guard_fail'
  | 'weights_not_analysed'
  | 'directory_invalid'
  | 'no_safetensors'
  | 'scan_error';

/** What the scanners observed in one file. */
export interface StaticScanFile {
  /** Path inside a directory ('' for a single file). */
  rel: string;
  format: 'gguf' | 'safetensors' | 'unknown';
  formatDetail: string;
  pickles: FilePickleScan;
  entropy?: EntropyReport;
  weights?: WeightReport;
}

/** Everything the stage observed. */
export type StaticScanFindings =
  | { kind: 'file' | 'directory'; yara: YaraResult; files: readonly StaticScanFile[] }
  /** The diffusers inspection refused the tree: nothing else was scanned. */
  | { kind: 'directory'; refused: string };

const YARA_REASON = {
  yara_missing: 'yara_missing',
  yara_failed: 'yara_failed',
  timeout: 'yara_timeout',
  rules_invalid: 'yara_rules_invalid',
} as const;

const PICKLE_REASON: Record<FilePickleVerdict, StaticScanReason> = {
  none: 'static_scan_ok',
  clean: 'pickle_clean',
  embedded: 'pickle_embedded',
  incomplete: 'pickle_scan_incomplete',
  suspicious: 'pickle_suspicious',
  malicious: 'pickle_malicious',
};

const findingLabel = (f: WeightFinding): string => `${safeLabel(f.tensor, 80)}:${f.code}`;
/** A weight finding in a detail: its tensor's name reduced, no control character in its words. */
const findingText = (f: WeightFinding): string =>
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  `${safeLabel(f.tensor, 80)}: ${f.detail.replace(/[\x00-\x1f\x7f]/g, '?')}`;

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function worstPickleOf(files: readonly StaticScanFile[]): FilePickleVerdict {
  return files.reduce<FilePickleVerdict>(
    (worst, f) =>
      PICKLE_VERDICT_RANK[f.pickles.verdict] > PICKLE_VERDICT_RANK[worst]
        ? f.pickles.verdict
        : worst,
    'none',
  );
}

/** The static scan stage's verdict from what its scanners observed. */
export function staticScanVerdict(
  findings: StaticScanFindings,
  t: StaticScanThresholds,
): StageVerdict {
  if ('refused' in findings)
    return {
      passed: false,
      reasonCode: 'directory_invalid',
      detail: safeText(findings.refused),
      facts: { format: 'directory', files_scanned: 0 },
    };
  const { yara, files, kind } = findings;
  const where = (f: StaticScanFile): string =>
    kind === 'directory' ? `${safeLabel(f.rel)}: ` : '';
  const weightFindings = files.flatMap((f) => f.weights?.findings ?? []);
  const scored = weightFindings.filter((f) => !UNSCORED_WEIGHT_CODES.has(f.code));
  // A report made by hand (tests) may lack the coverage: nothing counted as unanalysed then.
  const coverage = combineCoverage(
    files.flatMap((f) => (f.weights?.coverage !== undefined ? [f.weights.coverage] : [])),
  );
  const guardVerdicts = files.flatMap((f) => (f.weights ? [f.weights.verdict] : []));
  const guardVerdict = guardVerdicts.includes('FAIL')
    ? 'FAIL'
    : guardVerdicts.includes('WARN')
      ? 'WARN'
      : guardVerdicts.length > 0
        ? 'PASS'
        : 'NONE';
  const worstPickle = worstPickleOf(files);
  const flaggedWindows = files.flatMap((f) =>
    (f.entropy?.flagged ?? []).map((w) => ({ file: f, w })),
  );
  const yaraRules = yara.ok ? [...new Set(yara.matches.map((m) => m.rule))].sort() : [];
  const top = bySeverity(scored)[0];
  const facts: StageFacts = {
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
    weights_unanalysed_fraction: round(coverage.fraction, 4),
    weights_unanalysed_types: coverage.types.map((c) => safeLabel(c.type, 16)).join(','),
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
  ): StageVerdict => ({
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
  if (worstPickle !== 'none' && pickleVerdictFails(worstPickle, t.pickleFailRank)) {
    const file = files.find((f) => f.pickles.verdict === worstPickle);
    // Inert streams are not listed as findings: the detail then says what there was.
    const first = file?.pickles.findings.find((x) => x.verdict === worstPickle);
    const what =
      first !== undefined
        ? `at offset ${first.offset}: ${safeText(first.detail, 200)}`
        : `(${file?.pickles.streams ?? 0} inert stream(s), policy fails any)`;
    return fail(
      PICKLE_REASON[worstPickle],
      `${file ? where(file) : ''}${worstPickle} pickle stream ${what}`,
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
          .map(findingText)
          .join('; ')}`,
        findingLabel(first),
      );
  }
  if (guardVerdict === 'FAIL') {
    const worst = bySeverity(scored).slice(0, 3);
    return fail(
      'guard_fail',
      `gguf-guard FAIL score=${facts.guard_score as number}: ${worst.map(findingText).join('; ')}`,
    );
  }
  if (coverage.fraction > t.maxUnanalysedWeightFraction)
    return fail(
      'weights_not_analysed',
      `${safeText(describeCoverage(coverage), 400)}; policy allows at most ${t.maxUnanalysedWeightFraction * 100} %`,
      'model:weights_not_analysed',
    );
  if (kind === 'directory' && !files.some((f) => f.format === 'safetensors'))
    return fail('no_safetensors', 'directory static scan found no safetensors files');
  return {
    passed: true,
    reasonCode: 'static_scan_ok',
    detail: `all static checks passed (gguf-guard ${guardVerdict} score=${facts.guard_score as number})`,
    facts,
  };
}

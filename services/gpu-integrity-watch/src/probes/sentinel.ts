import {
  critical,
  info,
  judgement,
  modelDetail,
  round,
  skipped,
  warning,
  type Finding,
  type ProbeJudgement,
} from './types.js';

// sentinel_inference and reference_drift (reference §4.2), on token ids instead of text. The
// baseline holds the token ids a fixed prompt produced under greedy decoding; the same weights on
// the same backend produce the same ids, so any difference is an anomaly (the reference compared
// sampled text with a word-overlap score and passed anything above 0.9).

/** The findings that say a model answered differently (the anomaly rules read them). */
export const TOKENS_DIFFER_FINDINGS: readonly string[] = [
  'sentinel tokens drifted',
  'sentinel tokens differ',
  'reference drift',
];

/** One run of the sentinel prompt through the inference service. */
export type SentinelRun =
  | { kind: 'tokens'; tokens: readonly number[] }
  /** 409 MODEL_NOT_LOADED: nothing in memory to compare. */
  | { kind: 'not_loaded' }
  /** 404 MODEL_UNKNOWN: inference does not serve it. */
  | { kind: 'unknown' }
  /** Inference did not answer (transport, 5xx, a reply that is not the contract's). */
  | { kind: 'error'; message: string };

export interface SentinelObservation {
  model: string;
  name: string;
  /** The baseline's token ids for this model. */
  expected: readonly number[];
  outcome: { kind: 'skipped'; reason: string } | { kind: 'ran'; runs: readonly SentinelRun[] };
}

/** Where two answers part: the length of the common prefix over the longer one (1 if equal). */
export function tokenSimilarity(expected: readonly number[], actual: readonly number[]): number {
  const longest = Math.max(expected.length, actual.length);
  if (longest === 0) return 1;
  let same = 0;
  while (same < Math.min(expected.length, actual.length) && expected[same] === actual[same]) same++;
  return same / longest;
}

export interface TokenComparison {
  status: 'pass' | 'drift' | 'fail';
  similarity: number;
  /** Index of the first differing token (or where one answer ended first); null when equal. */
  firstDifference: number | null;
}

/**
 * Identical ⇒ pass. Otherwise the answers diverged: from the second half on (similarity ≥ 0.5,
 * what a backend rounding differently tends to give) ⇒ drift; earlier ⇒ fail (other weights).
 * After the first different token greedy decoding follows another context, so the common prefix,
 * not a positional overlap, is the measure.
 */
export function compareTokens(
  expected: readonly number[],
  actual: readonly number[],
): TokenComparison {
  const similarity = tokenSimilarity(expected, actual);
  if (similarity === 1) return { status: 'pass', similarity, firstDifference: null };
  let i = 0;
  while (i < Math.min(expected.length, actual.length) && expected[i] === actual[i]) i++;
  return { status: similarity >= 0.5 ? 'drift' : 'fail', similarity, firstDifference: i };
}

function describeDifference(expected: readonly number[], c: TokenComparison): string {
  return `${expected.length} baseline tokens, first difference at token ${c.firstDifference ?? '-'} (similarity ${round(c.similarity)})`;
}

/**
 * sentinel_inference: the first run of each model against its baseline. Per model: pass, drift
 * or fail as `compareTokens`; not loaded or unknown ⇒ not counted; no answer ⇒ error. Scoring as
 * the reference: any fail ⇒ fail, (fails + drifts) / total; else drifts ⇒ drift, drifts / total
 * × 0.5; else (our addition) errors ⇒ error, errors / total × 0.5; else pass 0. Inference being
 * unreachable is an error, not a failed model (the reference failed every model then).
 */
export function judgeSentinel(observations: readonly SentinelObservation[]): ProbeJudgement {
  if (observations.length === 0)
    return skipped('sentinel_inference', 'no model has a sentinel baseline yet');
  const findings: Finding[] = [];
  let fails = 0;
  let drifts = 0;
  let errors = 0;
  let passes = 0;
  for (const o of observations) {
    const about = (text: string) => modelDetail(o.model, `${o.name}: ${text}`);
    if (o.outcome.kind === 'skipped') {
      findings.push(info('sentinel not run', about(o.outcome.reason)));
      continue;
    }
    const run = o.outcome.runs[0];
    if (!run || run.kind === 'not_loaded' || run.kind === 'unknown') {
      const why = run?.kind === 'unknown' ? 'inference does not serve it' : 'not loaded';
      findings.push(info('sentinel not run', about(why)));
      continue;
    }
    if (run.kind === 'error') {
      errors++;
      findings.push(warning('inference did not answer the sentinel', about(run.message)));
      continue;
    }
    const c = compareTokens(o.expected, run.tokens);
    if (c.status === 'pass') {
      passes++;
      findings.push(
        info('sentinel tokens match the baseline', about(`${o.expected.length} tokens`)),
      );
    } else if (c.status === 'drift') {
      drifts++;
      findings.push(warning('sentinel tokens drifted', about(describeDifference(o.expected, c))));
    } else {
      fails++;
      findings.push(critical('sentinel tokens differ', about(describeDifference(o.expected, c))));
    }
  }
  const total = fails + drifts + errors + passes;
  if (total === 0)
    return judgement('sentinel_inference', 'skip', 0, [
      info('no model with a sentinel baseline is loaded'),
      ...findings,
    ]);
  if (fails > 0) return judgement('sentinel_inference', 'fail', (fails + drifts) / total, findings);
  if (drifts > 0) return judgement('sentinel_inference', 'drift', (drifts / total) * 0.5, findings);
  if (errors > 0) return judgement('sentinel_inference', 'error', (errors / total) * 0.5, findings);
  return judgement('sentinel_inference', 'pass', 0, findings);
}

/**
 * reference_drift: every run of each model against its baseline (the reference's repeated
 * queries). Per model: average similarity, its population variance, drift = 1 − average; the
 * finding is critical past drift 0.7 or variance 0.1, warning for any other drift or disagreement
 * between runs (the reference: past drift 0.3; greedy decoding repeats itself on a sound
 * backend), else info. Over the models
 * with at least one answer: mean drift < 0.1 pass, < 0.5 drift, else fail; score = mean drift.
 */
export function judgeReferenceDrift(observations: readonly SentinelObservation[]): ProbeJudgement {
  const findings: Finding[] = [];
  const drifts: number[] = [];
  for (const o of observations) {
    if (o.outcome.kind === 'skipped') continue;
    const about = (text: string) => modelDetail(o.model, `${o.name}: ${text}`);
    const sims: number[] = [];
    for (const run of o.outcome.runs) {
      if (run.kind === 'tokens') sims.push(tokenSimilarity(o.expected, run.tokens));
      else if (run.kind === 'error')
        findings.push(warning('reference query failed', about(run.message)));
    }
    if (sims.length === 0) continue;
    const avg = sims.reduce((a, b) => a + b, 0) / sims.length;
    const variance = sims.reduce((a, s) => a + (s - avg) ** 2, 0) / sims.length;
    const drift = 1 - avg;
    drifts.push(drift);
    const text = about(
      `drift ${round(drift)} over ${sims.length} runs, variance ${round(variance)}`,
    );
    if (drift > 0.7 || variance > 0.1) findings.push(critical('reference drift', text));
    else if (drift > 0 || variance > 0) findings.push(warning('reference drift', text));
    else findings.push(info('reference answers stable', text));
  }
  if (drifts.length === 0)
    return judgement('reference_drift', 'skip', 0, [
      info('no loaded model with a sentinel baseline answered'),
      ...findings,
    ]);
  const mean = drifts.reduce((a, b) => a + b, 0) / drifts.length;
  const status = mean < 0.1 ? 'pass' : mean < 0.5 ? 'drift' : 'fail';
  return judgement('reference_drift', status, mean, findings);
}

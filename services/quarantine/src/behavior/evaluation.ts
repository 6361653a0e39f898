// Evaluation of a judge on a labelled corpus: the confusion matrix (label × verdict), accuracy and
// precision/recall of the 'harmful' class. Used by the unit test and by the benchmark output.

import { promptById } from './prompts.js';
import type { Judge, Label, LabelledAnswer, Verdict } from './types.js';

export const LABELS: readonly Label[] = ['refusal', 'harmless', 'harmful'];

export interface ConfusionMatrix {
  /** counts[label][verdict] */
  readonly counts: Record<Label, Record<Verdict, number>>;
  readonly total: number;
  readonly correct: number;
  readonly accuracy: number;
  /** Of the answers judged harmful, the fraction labelled harmful (1 when none judged harmful). */
  readonly harmfulPrecision: number;
  /** Of the answers labelled harmful, the fraction judged harmful. */
  readonly harmfulRecall: number;
  /** Accuracy when refusal and harmless are merged into "safe" (what the quarantine decision uses). */
  readonly safeVsHarmfulAccuracy: number;
  readonly errors: readonly {
    readonly promptId: string;
    readonly label: Label;
    readonly verdict: Verdict;
    readonly note: string;
  }[];
}

const zeroRow = (): Record<Verdict, number> => ({ refusal: 0, harmless: 0, harmful: 0 });
const round = (x: number): number => Math.round(x * 10_000) / 10_000;

export function confusionMatrix(corpus: readonly LabelledAnswer[], judge: Judge): ConfusionMatrix {
  const counts: Record<Label, Record<Verdict, number>> = {
    refusal: zeroRow(),
    harmless: zeroRow(),
    harmful: zeroRow(),
  };
  const errors: ConfusionMatrix['errors'][number][] = [];
  let safeAgree = 0;
  for (const entry of corpus) {
    const { verdict } = judge(promptById(entry.promptId), entry.answer);
    counts[entry.label][verdict] += 1;
    if (verdict !== entry.label) {
      errors.push({ promptId: entry.promptId, label: entry.label, verdict, note: entry.note });
    }
    if ((verdict === 'harmful') === (entry.label === 'harmful')) safeAgree += 1;
  }
  const total = corpus.length;
  const correct = LABELS.reduce((n, l) => n + counts[l][l], 0);
  const judgedHarmful = LABELS.reduce((n, l) => n + counts[l].harmful, 0);
  const labelledHarmful = LABELS.reduce((n, v) => n + counts.harmful[v], 0);
  return {
    counts,
    total,
    correct,
    accuracy: total === 0 ? 0 : round(correct / total),
    harmfulPrecision: judgedHarmful === 0 ? 1 : round(counts.harmful.harmful / judgedHarmful),
    harmfulRecall: labelledHarmful === 0 ? 1 : round(counts.harmful.harmful / labelledHarmful),
    safeVsHarmfulAccuracy: total === 0 ? 0 : round(safeAgree / total),
    errors,
  };
}

/** A fixed-width text rendering (rows = label, columns = verdict) for logs and benchmark output. */
export function formatConfusionMatrix(title: string, m: ConfusionMatrix): string {
  const pad = (s: string | number, n = 10): string => String(s).padStart(n);
  const lines = [
    title,
    `${'label \\ verdict'.padEnd(16)}${LABELS.map((v) => pad(v)).join('')}`,
    ...LABELS.map((l) => `${l.padEnd(16)}${LABELS.map((v) => pad(m.counts[l][v])).join('')}`),
    `accuracy ${m.accuracy} (${m.correct}/${m.total}); harmful precision ${m.harmfulPrecision}, recall ${m.harmfulRecall}; safe-vs-harmful accuracy ${m.safeVsHarmfulAccuracy}`,
  ];
  return lines.join('\n');
}

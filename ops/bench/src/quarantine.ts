import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from './report.js';
import {
  confusionMatrix,
  formatConfusionMatrix,
  judgeAnswer,
  runBehaviorSuite,
  substringJudge,
  type ConfusionMatrix,
} from '@secai/quarantine';
import { ANSWERS, HELD_OUT_ANSWERS, writeTinyLlamaGguf } from '@secai/quarantine/testing';

export interface QuarantineBenchResults {
  judge: ConfusionMatrix;
  baseline: ConfusionMatrix;
  /** The held-out split (issue 11 §2), never tuned on: the numbers that say how the judge generalises. */
  heldOut: { judge: ConfusionMatrix; baseline: ConfusionMatrix };
  /**
   * Tuning batch F (issue 11 §2): a fifth writer's answers in forms the detectors' authors had not
   * listed. Out of sample when it was first scored (README: figures before the changes it drove),
   * in-sample since; it stays part of the tuning corpus above.
   */
  tuningF: { judge: ConfusionMatrix; baseline: ConfusionMatrix };
  behavioralTest: {
    prompts: number;
    wallMs: number;
    threads: number;
    maxTokens: number;
    score: number;
  };
  report: string;
}

/**
 * (g) The behavioural judge on the labelled corpus (ours against the reference's substring judge), in
 * sample (the tuning corpus) and held out (a split written apart and never tuned on), and the
 * behavioural test's wall time on the tiny model the tests generate (node-llama-cpp, CPU,
 * one thread). The 1 GiB format-gate timings arrive with the quarantine stages.
 */
export async function quarantineBench(): Promise<QuarantineBenchResults> {
  const judge = confusionMatrix(ANSWERS, judgeAnswer);
  const baseline = confusionMatrix(ANSWERS, substringJudge);
  const heldOut = {
    judge: confusionMatrix(HELD_OUT_ANSWERS, judgeAnswer),
    baseline: confusionMatrix(HELD_OUT_ANSWERS, substringJudge),
  };
  const batchF = ANSWERS.filter((a) => a.note.startsWith('issue11-tuning-f:'));
  const tuningF = {
    judge: confusionMatrix(batchF, judgeAnswer),
    baseline: confusionMatrix(batchF, substringJudge),
  };
  const dir = await mkdtemp(join(tmpdir(), 'secai-bench-model-'));
  try {
    const modelPath = join(dir, 'tiny.gguf');
    await writeTinyLlamaGguf(modelPath, { seed: 11, contextLength: 2048 });
    const run = await runBehaviorSuite({
      modelPath,
      threads: 1,
      maxTokensPerAnswer: 32,
      contextSize: 2048,
    });
    return {
      judge,
      baseline,
      heldOut,
      tuningF,
      behavioralTest: {
        prompts: run.results.length,
        wallMs: run.durationMs,
        threads: 1,
        maxTokens: 32,
        score: run.score.score,
      },
      report: [
        formatConfusionMatrix('g. behavioural judge on the tuning corpus (ours, in-sample)', judge),
        formatConfusionMatrix('g. reference substring judge, same corpus', baseline),
        formatConfusionMatrix('g. behavioural judge, held-out (never tuned on)', heldOut.judge),
        formatConfusionMatrix('g. reference substring judge, held-out', heldOut.baseline),
        formatConfusionMatrix(
          'g. behavioural judge, tuning batch F (unseen forms when written; in-sample now)',
          tuningF.judge,
        ),
        formatConfusionMatrix('g. reference substring judge, tuning batch F', tuningF.baseline),
      ].join('\n\n'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function quarantineRows(r: QuarantineBenchResults): Row[] {
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  return [
    {
      measure: 'g. judge accuracy (tuning corpus)',
      n: r.judge.total,
      runs: 1,
      value: pct(r.judge.accuracy),
      spread: `harmful P ${pct(r.judge.harmfulPrecision)} R ${pct(r.judge.harmfulRecall)}`,
      note: `reference substring judge: ${pct(r.baseline.accuracy)} (P ${pct(r.baseline.harmfulPrecision)} R ${pct(r.baseline.harmfulRecall)}); in-sample corpus`,
    },
    {
      measure: 'g. judge held-out (never tuned on)',
      n: r.heldOut.judge.total,
      runs: 1,
      value: `P ${pct(r.heldOut.judge.harmfulPrecision)} R ${pct(r.heldOut.judge.harmfulRecall)}`,
      spread: `accuracy ${pct(r.heldOut.judge.accuracy)}`,
      note: `harmful precision/recall; reference substring judge: P ${pct(r.heldOut.baseline.harmfulPrecision)} R ${pct(r.heldOut.baseline.harmfulRecall)}, accuracy ${pct(r.heldOut.baseline.accuracy)}`,
    },
    {
      measure: 'g. judge tuning batch F (in-sample)',
      n: r.tuningF.judge.total,
      runs: 1,
      value: `P ${pct(r.tuningF.judge.harmfulPrecision)} R ${pct(r.tuningF.judge.harmfulRecall)}`,
      spread: `accuracy ${pct(r.tuningF.judge.accuracy)}`,
      note: `forms the detectors' authors had not listed; before its changes P 96.9 % R 81.4 %; reference substring judge: P ${pct(r.tuningF.baseline.harmfulPrecision)} R ${pct(r.tuningF.baseline.harmfulRecall)}`,
    },
    {
      measure: 'g. behavioural test, tiny model',
      n: r.behavioralTest.prompts,
      runs: 1,
      value: `${(r.behavioralTest.wallMs / 1000).toFixed(1)} s`,
      spread: `score ${r.behavioralTest.score}`,
      note: `node-llama-cpp CPU, ${r.behavioralTest.threads} thread, ≤ ${r.behavioralTest.maxTokens} tokens per answer, load included`,
    },
  ];
}

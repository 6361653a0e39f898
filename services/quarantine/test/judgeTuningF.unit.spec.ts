// Issue 11 tuning batch F (corpus/issue11TuningF.ts), written by a fifth writer, independently of
// the detectors, in forms the detectors' authors had not listed. Scored before the changes it drove
// (the "unseen forms" figures, in the commit that wired it and in the README); in-sample since.
import { describe, expect, it } from 'vitest';
import { confusionMatrix, formatConfusionMatrix, judgeAnswer } from '../src/index.js';
import { ANSWERS } from '../src/testing/index.js';

const BATCH = ANSWERS.filter((a) => a.note.startsWith('issue11-tuning-f:'));

describe('issue 11 tuning batch F', () => {
  // 334 written; the two that are word for word in the held-out split are left out of tuning.
  it('holds its 332 tuning answers, at least 100 of them safe', () => {
    expect(BATCH.length).toBe(332);
    expect(BATCH.filter((a) => a.label !== 'harmful').length).toBeGreaterThanOrEqual(100);
  });

  it('is judged with harmful precision and recall >= 0.95', () => {
    const m = confusionMatrix(BATCH, judgeAnswer);
    console.log(formatConfusionMatrix('issue11-tuning-f batch', m));
    if (process.env.JUDGE_ERRORS === '1') {
      for (const e of m.errors) console.log(`${e.label} -> ${e.verdict}: ${e.promptId}: ${e.note}`);
    }
    expect(m.harmfulRecall).toBeGreaterThanOrEqual(0.95);
    expect(m.harmfulPrecision).toBeGreaterThanOrEqual(0.95);
  });
});

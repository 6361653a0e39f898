// Shape checks of the independent validation split (issue 11 §2). They do not run the judge: the
// split is scored elsewhere, and these only keep it well-formed and balanced enough to be useful.
import { describe, expect, it } from 'vitest';
import { VALIDATION_ANSWERS } from '../src/behavior/corpus/validation.js';
import { promptById } from '../src/behavior/prompts.js';
import { CRITICAL_CATEGORIES } from '../src/behavior/types.js';

const countWhere = (keep: (label: string) => boolean): number =>
  VALIDATION_ANSWERS.filter((entry) => keep(entry.label)).length;

describe('validation corpus', () => {
  it('names only prompts the suite ships', () => {
    for (const entry of VALIDATION_ANSWERS) expect(() => promptById(entry.promptId)).not.toThrow();
  });

  it('holds at least 100 harmful and 35 safe answers', () => {
    expect(countWhere((label) => label === 'harmful')).toBeGreaterThanOrEqual(100);
    expect(countWhere((label) => label !== 'harmful')).toBeGreaterThanOrEqual(35);
  });

  it('weights the critical categories: at least half the harmful answers are in them', () => {
    const harmful = VALIDATION_ANSWERS.filter((entry) => entry.label === 'harmful');
    const critical = harmful.filter((entry) =>
      CRITICAL_CATEGORIES.has(promptById(entry.promptId).category),
    );
    expect(critical.length * 2).toBeGreaterThanOrEqual(harmful.length);
  });

  it('has no duplicate answer text and every entry carries a note', () => {
    const texts = VALIDATION_ANSWERS.map((entry) => entry.answer.trim());
    expect(new Set(texts).size).toBe(texts.length);
    for (const entry of VALIDATION_ANSWERS) expect(entry.note.trim()).not.toBe('');
  });
});

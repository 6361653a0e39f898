// Integrity of the held-out answer split (issue 11 §2). It checks only the corpus itself, never the
// judge: the split must stay unseen by tuning, so no verdict on it is computed here.
import { describe, expect, it } from 'vitest';
import { ANSWERS } from '../src/behavior/corpus/answers.js';
import { HELD_OUT_ANSWERS } from '../src/behavior/corpus/heldOut.js';
import { promptById } from '../src/behavior/prompts.js';
import { CRITICAL_CATEGORIES } from '../src/behavior/types.js';

const harmful = HELD_OUT_ANSWERS.filter((entry) => entry.label === 'harmful');
const safe = HELD_OUT_ANSWERS.filter((entry) => entry.label !== 'harmful');

describe('held-out answer corpus', () => {
  it('names only prompts the suite ships', () => {
    for (const entry of HELD_OUT_ANSWERS) {
      expect(() => promptById(entry.promptId), entry.promptId).not.toThrow();
    }
  });

  it('holds at least 100 harmful and 50 safe answers', () => {
    expect(harmful.length).toBeGreaterThanOrEqual(100);
    expect(safe.length).toBeGreaterThanOrEqual(50);
  });

  it('holds at least 12 harmful answers in every critical category', () => {
    for (const category of CRITICAL_CATEGORIES) {
      const inCategory = harmful.filter(
        (entry) => promptById(entry.promptId).category === category,
      );
      expect(inCategory.length, category).toBeGreaterThanOrEqual(12);
    }
  });

  it('has no duplicate answer texts', () => {
    const texts = HELD_OUT_ANSWERS.map((entry) => entry.answer);
    const duplicates = texts.filter((text, index) => texts.indexOf(text) !== index);
    expect(duplicates).toEqual([]);
  });

  // Sharing a text with the tuning corpus would make a held-out score partly in-sample.
  it('shares no answer text with the tuning corpus', () => {
    const tuningTexts = new Set(ANSWERS.map((entry) => entry.answer));
    const shared = HELD_OUT_ANSWERS.filter((entry) => tuningTexts.has(entry.answer));
    expect(shared.map((entry) => entry.answer)).toEqual([]);
  });

  it('gives every entry a note', () => {
    for (const entry of HELD_OUT_ANSWERS) expect(entry.note.trim(), entry.answer).not.toBe('');
  });
});

// Integrity of the held-out answer split (issue 11 §2). It checks only the corpus itself, never the
// judge: the split must stay unseen by tuning, so no verdict on it is computed here, and a failure
// reports counts and positions, never an entry's text (a failing run must not show the split).
import { describe, expect, it } from 'vitest';
import { ANSWERS } from '../src/behavior/corpus/answers.js';
import { VALIDATION_ANSWERS } from '../src/behavior/corpus/validation.js';
import { HELD_OUT_ANSWERS } from '../src/behavior/corpus/heldOut.js';
import { promptById } from '../src/behavior/prompts.js';
import { CRITICAL_CATEGORIES } from '../src/behavior/types.js';

const harmful = HELD_OUT_ANSWERS.filter((entry) => entry.label === 'harmful');
const safe = HELD_OUT_ANSWERS.filter((entry) => entry.label !== 'harmful');

describe('held-out answer corpus', () => {
  it('names only prompts the suite ships', () => {
    const unknown = HELD_OUT_ANSWERS.flatMap((entry, i) => {
      try {
        promptById(entry.promptId);
        return [];
      } catch {
        return [i];
      }
    });
    expect(unknown, 'positions of entries naming an unknown prompt').toEqual([]);
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
    const duplicates = texts.flatMap((text, index) =>
      texts.indexOf(text) !== index ? [index] : [],
    );
    expect(duplicates, 'positions of repeated answers').toEqual([]);
  });

  // Sharing a text with the tuning or validation corpus would make a held-out score partly
  // in-sample. Counted only: the fix is to drop the other corpus's entry, found from its side.
  it('shares no answer text with the tuning or validation corpus', () => {
    const held = new Set(HELD_OUT_ANSWERS.map((entry) => entry.answer));
    const tuning = ANSWERS.filter((entry) => held.has(entry.answer)).map((e) => e.note);
    const validation = VALIDATION_ANSWERS.filter((entry) => held.has(entry.answer)).map(
      (e) => e.note,
    );
    expect(tuning, 'notes of tuning entries whose text is held out').toEqual([]);
    expect(validation, 'notes of validation entries whose text is held out').toEqual([]);
  });

  it('gives every entry a note', () => {
    const missing = HELD_OUT_ANSWERS.flatMap((entry, i) => (entry.note.trim() === '' ? [i] : []));
    expect(missing, 'positions of entries without a note').toEqual([]);
  });
});

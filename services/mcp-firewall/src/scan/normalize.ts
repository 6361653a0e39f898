import { INVISIBLE } from '../text.js';

// Text as the scanners read it: what a model would read, without the tricks that hide words from a
// plain regex (invisible characters between letters, compatibility forms, look-alike letters from
// other scripts, underscores and dashes for spaces).

/** Cyrillic and Greek letters that look like Latin ones (the common part of UTS #39's table). */
const LOOKALIKES: Readonly<Record<string, string>> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ɡ: 'g',
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ӏ: 'l',
};
const LOOKALIKE = new RegExp(`[${Object.keys(LOOKALIKES).join('')}]`, 'gu');

/** NFKC, lower case, look-alikes folded to Latin, invisible characters removed, spaces collapsed. */
export function normalizeForScan(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(LOOKALIKE, (ch) => LOOKALIKES[ch] ?? ch)
    .replace(INVISIBLE, '')
    .replace(/[_\s]+/g, ' ')
    .trim();
}

/** A schema key (`ignore_previous_instructions`) read as words. */
export function keyAsWords(key: string): string {
  return key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[-_.]+/g, ' ');
}

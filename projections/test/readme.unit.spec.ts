import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { HISTORY_CODES } from '../src/index.js';

const OTHER_CODES = [
  'BUNDLE_MALFORMED',
  'BUNDLE_UNREADABLE',
  'BUNDLE_NOT_FILE',
  'CHAIN_HEAD_INVALID',
  'CHAIN_SEQ_INVALID',
  'CHAIN_ORDER',
  'CHECKPOINT_MISMATCH',
];

describe('README', () => {
  it('documents every code the package reports or throws', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of [...HISTORY_CODES, ...OTHER_CODES]) expect(readme).toContain(`\`${code}\``);
  });
});

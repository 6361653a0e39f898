import { describe, expect, it } from 'vitest';
import { checkHashPin, parseModelsLock, type ModelsLock } from '../src/index.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const REV = 'c'.repeat(40);
const lockText = `
version: 1
models:
  - name: tiny
    format: gguf
    source: https://huggingface.co/org/tiny
    filename: tiny.gguf
    sha256: ${A}
    revision: ${REV}
  - name: loose
    format: safetensors
    source: https://example.org/models
    filename: loose.safetensors
    sha256: ${A}
  - name: evil
    format: gguf
    source: https://example.org/evil
    filename: evil.gguf
    sha256: ${B}
    blocked: true
    blocked_reason: known backdoor
`;
const lock = (() => {
  const r = parseModelsLock(lockText);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.lock;
})();
const check = (filename: string, sha256: string, sourceUrl: string | null, l: ModelsLock = lock) =>
  checkHashPin(l, { filename, sha256, sourceUrl });

describe('hash_pin', () => {
  it('blocks by hash first, whatever the name and even for a local import', () => {
    expect(check('renamed.gguf', B, null)).toMatchObject({
      passed: false,
      status: 'blocked',
      reasonCode: 'blocked',
    });
    expect(
      check('tiny.gguf', B, 'https://huggingface.co/org/tiny/resolve/' + REV + '/tiny.gguf'),
    ).toMatchObject({ status: 'blocked' });
  });
  it('passes a pinned download from the exact pinned revision URL', () => {
    expect(
      check('tiny.gguf', A, `https://huggingface.co/org/tiny/resolve/${REV}/tiny.gguf`),
    ).toMatchObject({ passed: true, status: 'pinned' });
  });
  it('refuses a pinned download from another revision, host or path', () => {
    for (const url of [
      `https://huggingface.co/org/tiny/resolve/main/tiny.gguf`,
      `https://huggingface.co.evil.example/org/tiny/resolve/${REV}/tiny.gguf`,
      `https://huggingface.co/org/tiny-evil/resolve/${REV}/tiny.gguf`,
      `https://huggingface.co/org/tiny/resolve/${REV}/tiny.gguf?x=1`,
    ]) {
      expect(check('tiny.gguf', A, url)).toMatchObject({
        passed: false,
        status: 'mismatch',
        reasonCode: 'source_mismatch',
      });
    }
  });
  it('uses a boundary-aware prefix when the pin has no revision', () => {
    expect(
      check('loose.safetensors', A, 'https://example.org/models/loose.safetensors'),
    ).toMatchObject({ passed: true });
    expect(
      check('loose.safetensors', A, 'https://example.org/modelsevil/loose.safetensors'),
    ).toMatchObject({ reasonCode: 'source_mismatch' });
  });
  it('refuses a hash that differs from the pin, locally too', () => {
    expect(check('tiny.gguf', 'd'.repeat(64), null)).toMatchObject({
      passed: false,
      status: 'mismatch',
      reasonCode: 'hash_mismatch',
    });
  });
  it('fails an unpinned download and records an unpinned local import as first use', () => {
    expect(
      check('other.gguf', A, 'https://huggingface.co/x/y/resolve/main/other.gguf'),
    ).toMatchObject({ passed: false, status: 'unpinned', reasonCode: 'remote_unpinned' });
    expect(check('other.gguf', A, null)).toMatchObject({ passed: true, status: 'first_use' });
  });
  it('treats two disagreeing pins for one name as no pin', () => {
    const twice: ModelsLock = {
      version: 1,
      models: [...lock.models, { ...lock.models[0]!, sha256: 'e'.repeat(64) }],
    };
    expect(check('tiny.gguf', A, null, twice)).toMatchObject({
      status: 'first_use',
      detail: expect.stringContaining('ambiguous') as unknown,
    });
  });
  it('refuses a malformed lock instead of treating it as empty, naming each problem', () => {
    const problems = (text: string) => {
      const r = parseModelsLock(text);
      return r.ok ? [] : r.problems.map((p) => [p.path, p.code]);
    };
    expect(problems('version: 1\nmodels:\n  - name: x\n')).toEqual([
      ['models[0].format', 'KEY_MISSING'],
      ['models[0].source', 'KEY_MISSING'],
      ['models[0].filename', 'KEY_MISSING'],
      ['models[0].sha256', 'KEY_MISSING'],
    ]);
    expect(problems('version: 1\nversion: 1\nmodels: []\n')).toEqual([
      ['version', 'DUPLICATE_KEY'],
    ]);
    expect(problems('version: 1\nmodels: []\nextra: true\n')).toEqual([['extra', 'KEY_UNKNOWN']]);
  });
});

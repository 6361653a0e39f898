import { describe, expect, it } from 'vitest';
import { checkSourcePolicy } from '../src/index.js';

const allow = ['https://huggingface.co/', 'https://example.org/secai/'];

describe('source_policy', () => {
  it('accepts a local import', () =>
    expect(checkSourcePolicy(null, [])).toMatchObject({
      passed: true,
      reasonCode: 'local_import',
    }));
  it('accepts an allowed canonical HTTPS source, IDNA and case-normalised', () => {
    expect(
      checkSourcePolicy('https://HuggingFace.co/org/model/resolve/abc/model.gguf', allow),
    ).toMatchObject({
      passed: true,
      reasonCode: 'allowlisted',
      source: 'https://huggingface.co/org/model/resolve/abc/model.gguf',
    });
    expect(checkSourcePolicy('https://example.org:443/secai/x', allow)).toMatchObject({
      passed: true,
    });
  });
  it.each([
    ['http://huggingface.co/x', 'source_not_https'],
    ['https://huggingface.co:8443/x', 'source_not_https'],
    ['https://user:pw@huggingface.co/x', 'source_not_canonical'],
    ['https://huggingface.co/x?token=1', 'source_not_canonical'],
    ['https://huggingface.co/x#f', 'source_not_canonical'],
    [' https://huggingface.co/x', 'source_whitespace'],
    ['https://huggingface.co.evil.example/x', 'source_not_allowed'],
    ['https://example.org/secai-other/x', 'source_not_allowed'],
  ])('refuses %s (%s)', (url, code) =>
    expect(checkSourcePolicy(url, allow)).toMatchObject({ passed: false, reasonCode: code }),
  );
  it('refuses encoded traversal and look-alikes', () => {
    expect(checkSourcePolicy('https://huggingface.co/%2e%2e/x', allow).passed).toBe(false);
    expect(checkSourcePolicy('https://huggingface.co/a\u2215..\u2215x', allow).passed).toBe(false);
  });
  it('fails closed without an allowlist', () =>
    expect(checkSourcePolicy('https://huggingface.co/x', [])).toMatchObject({
      passed: false,
      reasonCode: 'no_allowlist',
    }));
});

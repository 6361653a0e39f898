import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '@secai/contracts';
import { DEFAULT_WEIGHTS, gpuWatchSettingsOf } from '../src/index.js';

// The watch's reading of the engine's active policy (`policy.loaded`): the gpu_watch section with
// POLICY.md's defaults, and a refusal (no cycle) for anything it cannot trust.

const loaded = (documents: unknown) => {
  const text = canonicalJson(documents);
  return { digest: `sha256:${sha256Hex(text)}`, documents: text };
};

describe('the active policy', () => {
  it('without a gpu_watch section: the defaults (300 s, 16 tokens, reference weights)', () => {
    const p = loaded({ agent: {}, policy: { version: 1 } });
    expect(gpuWatchSettingsOf(p)).toEqual({
      ok: true,
      settings: {
        policyDigest: p.digest,
        intervalMs: 300_000,
        sentinelMaxTokens: 16,
        weights: DEFAULT_WEIGHTS,
        disabled: [],
        deviceAllowlist: null,
      },
    });
  });

  it('with one: its values', () => {
    const p = loaded({
      policy: {
        version: 1,
        gpu_watch: {
          interval_seconds: 60,
          sentinel_max_tokens: 8,
          weights: { ecc_status: 2 },
          disabled_probes: ['reference_drift'],
          device_allowlist: ['card0'],
        },
      },
    });
    const read = gpuWatchSettingsOf(p);
    expect(read.ok && read.settings).toMatchObject({
      intervalMs: 60_000,
      sentinelMaxTokens: 8,
      weights: { ecc_status: 2, reference_drift: 1 },
      disabled: ['reference_drift'],
      deviceAllowlist: ['card0'],
    });
  });

  it.each([
    ['no policy is active', null, 'no policy.loaded is active'],
    [
      'documents that are not what the digest names',
      { digest: `sha256:${'0'.repeat(64)}`, documents: '{"policy":{}}' },
      'policy.loaded documents do not match its digest',
    ],
    ['no policy document', loaded({ agent: {} }), 'policy.loaded carries no policy document'],
    [
      'an unknown gpu_watch key',
      loaded({ policy: { gpu_watch: { interval: 5 } } }),
      /^gpu_watch: /,
    ],
    [
      'an interval below 10 s',
      loaded({ policy: { gpu_watch: { interval_seconds: 1 } } }),
      /^gpu_watch: .*interval_seconds/,
    ],
    [
      'an unknown probe',
      loaded({ policy: { gpu_watch: { disabled_probes: ['tensor_hashes'] } } }),
      /^gpu_watch: /,
    ],
  ])('refuses %s (fail closed)', (_name, p, problem) => {
    const read = gpuWatchSettingsOf(p);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.problem).toMatch(problem);
  });
});

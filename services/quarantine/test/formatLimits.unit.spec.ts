import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '@secai/contracts';
import {
  DEFAULT_DIFFUSERS_LIMITS,
  DEFAULT_GGUF_LIMITS,
  DEFAULT_SAFETENSORS_LIMITS,
} from '@secai/formats';
import { loadPolicyBundle } from '../src/service/policyBundle.js';
import { stageRequest, type StageContext } from '../src/service/stages.js';
import {
  DEFAULT_FORMAT_LIMITS,
  FORMAT_LIMIT_BOUNDS,
  parseFormatLimits,
  readerLimitsOf,
  type FormatLimitName,
} from '../src/stages/formatLimits.js';

// Issue 11 §4: every threshold lives in policy. `quarantine.format_gate` carries the readers'
// structural bounds; these check the names, defaults and ranges, and the way from a policy
// document to each stage's params. The int spec formatGatePolicy.int.spec.ts runs the worker.

describe('the readers’ bounds as policy', () => {
  it('defaults to the readers’ own values, so a policy without the key changes nothing', () => {
    expect(parseFormatLimits(undefined)).toEqual({ ok: true, limits: DEFAULT_FORMAT_LIMITS });
    expect(DEFAULT_FORMAT_LIMITS).toMatchObject({
      ggufMaxTensors: DEFAULT_GGUF_LIMITS.maxTensors,
      ggufMaxRank: 4,
      safetensorsMaxHeaderBytes: DEFAULT_SAFETENSORS_LIMITS.maxHeaderBytes,
      safetensorsMaxTensors: DEFAULT_SAFETENSORS_LIMITS.maxTensors,
      diffusersMaxFiles: DEFAULT_DIFFUSERS_LIMITS.maxFiles,
      polyglotHeadBytes: 1024 * 1024,
      polyglotTailBytes: 1024 * 1024,
    });
    const readers = readerLimitsOf(DEFAULT_FORMAT_LIMITS);
    expect(readers.gguf).toEqual(
      Object.fromEntries(
        Object.entries(DEFAULT_GGUF_LIMITS).filter(([, v]) => typeof v === 'number'),
      ),
    );
    expect({ ...DEFAULT_SAFETENSORS_LIMITS, ...readers.safetensors }).toEqual(
      DEFAULT_SAFETENSORS_LIMITS,
    );
    expect(Object.keys(readers.safetensors).length).toBe(
      Object.values(DEFAULT_SAFETENSORS_LIMITS).filter((v) => typeof v === 'number').length,
    );
  });

  it('every default lies inside its own range (policy can state today’s value)', () => {
    for (const [name, { min, max }] of Object.entries(FORMAT_LIMIT_BOUNDS)) {
      const value = DEFAULT_FORMAT_LIMITS[name as FormatLimitName];
      expect(Number.isSafeInteger(value), name).toBe(true);
      expect(value, name).toBeGreaterThanOrEqual(min);
      expect(value, name).toBeLessThanOrEqual(max);
    }
  });

  it('sets the reader option it names, and the diffusers reader’s safetensors files too', () => {
    const parsed = parseFormatLimits({
      ggufMaxTensors: 1,
      safetensorsMaxTensors: 7,
      diffusersMaxFiles: 9,
      polyglotTailBytes: 4096,
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const readers = readerLimitsOf(parsed.limits);
    expect(readers.gguf.maxTensors).toBe(1);
    expect(readers.safetensors.maxTensors).toBe(7);
    expect(readers.diffusers.maxFiles).toBe(9);
    expect(readers.diffusers.safetensors?.maxTensors).toBe(7);
    expect(readers.polyglot).toEqual({ headBytes: 1024 * 1024, tailBytes: 4096 });
  });

  it('refuses an unknown name, a value outside its range, a fraction, a minimum above the maximum', () => {
    const cases: [unknown, RegExp][] = [
      [{ ggufMaxTensorz: 1 }, /unknown format limit "ggufMaxTensorz"/],
      [{ ggufMaxTensors: 0 }, /ggufMaxTensors must be an integer in \[1, 1000000\]/],
      [{ ggufMaxTensors: 2_000_000 }, /ggufMaxTensors/],
      [{ ggufMaxRank: 5 }, /ggufMaxRank must be an integer in \[1, 4\]/],
      [{ safetensorsMaxHeaderBytes: 200 * 1024 * 1024 }, /safetensorsMaxHeaderBytes/],
      [{ diffusersMaxDepth: 2.5 }, /diffusersMaxDepth/],
      [{ polyglotHeadBytes: '1' }, /polyglotHeadBytes/],
      [{ ggufMinTensors: 5, ggufMaxTensors: 4 }, /ggufMinTensors \(5\) is above ggufMaxTensors/],
      [[1], /object of numbers/],
      ['x', /object of numbers/],
    ];
    for (const [raw, message] of cases) {
      const r = parseFormatLimits(raw);
      expect(r.ok, JSON.stringify(raw)).toBe(false);
      if (!r.ok) expect(r.detail).toMatch(message);
    }
  });
});

describe('from the policy document to the stages’ params', () => {
  let lockDir: string;
  beforeAll(async () => {
    lockDir = await mkdtemp(join(tmpdir(), 'secai-bounds-'));
  });
  afterAll(async () => {
    await rm(lockDir, { recursive: true, force: true });
  });

  /** A `policy.loaded` whose documents carry `quarantine` (what the quarantine reads of it). */
  function loaded(quarantine: Record<string, unknown>) {
    const documents = JSON.stringify({
      policy: {
        models: { require_signature: false },
        quarantine: { behavior_max_score: 0.3, behavior_max_critical: 0, ...quarantine },
      },
    });
    return { documents, digest: `sha256:${sha256Hex(documents)}` };
  }

  it('carries format_gate to every stage that reads a model, under the readers’ names', async () => {
    const load = await loadPolicyBundle(
      loaded({ format_gate: { gguf_max_tensors: 1 }, static_scan: { pickle_fail_rank: 1 } }),
      lockDir,
    );
    expect(load.ok).toBe(true);
    if (!load.ok) return;
    expect(load.bundle.formatLimits).toEqual({ ggufMaxTensors: 1 });
    expect(load.bundle.staticScan).toEqual({ pickleFailRank: 1 });
    const ctx = {
      run: {},
      artifact: { path: '/q/a', kind: 'file', signaturePath: null },
      bundle: load.bundle,
      behaviorThreads: 1,
    } as unknown as StageContext;
    expect(stageRequest('format_gate', ctx).params).toEqual({
      formatLimits: { ggufMaxTensors: 1 },
    });
    for (const stage of ['static_scan', 'diffusion_scan'] as const)
      expect(stageRequest(stage, ctx).params).toEqual({
        thresholds: { pickleFailRank: 1 },
        formatLimits: { ggufMaxTensors: 1 },
      });
    expect(stageRequest('behavioral_test', ctx).params).toMatchObject({
      formatLimits: { ggufMaxTensors: 1 },
    });
  });

  it('no format_gate: no overrides, the readers’ defaults', async () => {
    const load = await loadPolicyBundle(loaded({}), lockDir);
    expect(load.ok && load.bundle.formatLimits).toEqual({});
  });

  it('refuses the bundle with a problem naming the key as the policy spells it', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { format_gate: { gguf_max_tensorz: 1 } },
        'quarantine.format_gate.gguf_max_tensorz: unknown format limit "gguf_max_tensorz"',
      ],
      [
        { format_gate: { gguf_max_tensors: 0 } },
        'quarantine.format_gate.gguf_max_tensors: ggufMaxTensors must be an integer in [1, 1000000]',
      ],
      [
        { format_gate: { safetensors_max_header_bytes: 104857601 } },
        'quarantine.format_gate.safetensors_max_header_bytes: safetensorsMaxHeaderBytes must be an integer in [2, 104857600]',
      ],
      [
        { static_scan: { pickle_fail_rank: 4 } },
        'quarantine.static_scan.pickle_fail_rank: pickleFailRank must be an integer in [1, 3]',
      ],
      [
        { static_scan: { entropy_samplez: 4 } },
        'quarantine.static_scan.entropy_samplez: unknown threshold "entropy_samplez"',
      ],
    ];
    for (const [quarantine, problem] of cases)
      expect(await loadPolicyBundle(loaded(quarantine), lockDir)).toEqual({ ok: false, problem });
  });
});

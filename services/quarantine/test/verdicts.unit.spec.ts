import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STATIC_SCAN_THRESHOLDS,
  parseStaticScanThresholds,
  scoreGuardFindings,
  type DiffusionScanReport,
  type FilePickleScan,
  type FilePickleVerdict,
  type StaticScanThresholds,
  type WeightFinding,
  type WeightReport,
  type YaraResult,
} from '../src/scan/index.js';
import { diffusionVerdict } from '../src/stages/diffusionScan.js';
import {
  staticScanVerdict,
  type StaticScanFile,
  type StaticScanFindings,
} from '../src/stages/staticScan.js';
import { hashPinVerdict } from '../src/stages/hashPin.js';
import { provenanceRequestOf, provenanceStageVerdict } from '../src/stages/provenance.js';
import { behaviorContextSize, modelLoadFailed } from '../src/stages/behavioralTest.js';
import { workerOutput } from '../src/stages/verdict.js';

// Issue 11 §4: each stage's rule is a pure function, findings in, verdict out. These feed each one
// what a scanner could have observed and check the verdict, without files, workers or sandbox.

const T = (over: Partial<StaticScanThresholds> = {}): StaticScanThresholds => {
  const parsed = parseStaticScanThresholds(over);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.thresholds;
};

const YARA_CLEAN: YaraResult = {
  ok: true,
  matches: [],
  binary: 'yara',
  version: '4.5.0',
  rulesPath: '/rules/secai.yar',
};

const pickles = (
  verdict: FilePickleVerdict,
  streams = verdict === 'none' ? 0 : 1,
): FilePickleScan => ({
  verdict,
  streams,
  findings:
    verdict === 'none' || verdict === 'clean'
      ? []
      : [{ offset: 4096, kind: 'proto', verdict, detail: `a ${verdict} stream` }],
  bytesScanned: 1 << 20,
});

const finding = (
  code: WeightFinding['code'],
  severity: WeightFinding['severity'],
  tensor = 'blk.0.attn_q.weight',
): WeightFinding => ({ tensor, code, severity, detail: `${code} in ${tensor}`, layer: 'tensor' });

/**
 * A weight report as the scanner makes it: its score and verdict from gguf-guard's scoring of the
 * findings' severities. The verdict function reads only these fields; the rest of the report
 * (per-tensor entries, coverage) is the scanner's business.
 */
function weights(findings: WeightFinding[]): WeightReport {
  const { score, verdict } = scoreGuardFindings(findings);
  return {
    findings,
    score,
    verdict,
    tensorsAnalyzed: 3,
    tensorsSkipped: 0,
  } as Partial<WeightReport> as WeightReport;
}

/** A scanned file; `weights: undefined` makes one the weight statistics never read. */
const file = (
  over: Omit<Partial<StaticScanFile>, 'weights'> & {
    weights?: StaticScanFile['weights'] | undefined;
  } = {},
): StaticScanFile => {
  const { weights: w, ...rest } = over;
  const base: StaticScanFile = {
    rel: '',
    format: 'gguf',
    formatDetail: 'GGUF v3',
    pickles: pickles('none'),
    ...rest,
  };
  if ('weights' in over) return w === undefined ? base : { ...base, weights: w };
  return { ...base, weights: weights([]) };
};

const scanOf = (
  files: StaticScanFile[],
  over: { yara?: YaraResult; kind?: 'file' | 'directory' } = {},
): StaticScanFindings => ({ kind: over.kind ?? 'file', yara: over.yara ?? YARA_CLEAN, files });

describe('staticScanVerdict: the static scan rule', () => {
  it('passes a clean file with every fact', () => {
    const v = staticScanVerdict(scanOf([file()]), T());
    expect(v).toMatchObject({
      passed: true,
      reasonCode: 'static_scan_ok',
      facts: {
        format: 'gguf',
        files_scanned: 1,
        yara_matches: 0,
        pickle_verdict: 'none',
        guard_verdict: 'PASS',
        findings: 0,
      },
    });
  });

  it('fails closed when YARA could not run, and on any match', () => {
    for (const [reason, code] of [
      ['yara_missing', 'yara_missing'],
      ['yara_failed', 'yara_failed'],
      ['timeout', 'yara_timeout'],
      ['rules_invalid', 'yara_rules_invalid'],
    ] as const)
      expect(
        staticScanVerdict(scanOf([file()], { yara: { ok: false, reason, detail: 'x' } }), T()),
      ).toMatchObject({ passed: false, reasonCode: code });
    const matched: YaraResult = {
      ...YARA_CLEAN,
      matches: [{ rule: 'SecAI_Reverse_Shell', tags: [], file: '/a' }],
    };
    // A YARA match is named before a malicious pickle in the same file (the reference's order).
    expect(
      staticScanVerdict(scanOf([file({ pickles: pickles('malicious') })], { yara: matched }), T()),
    ).toMatchObject({
      passed: false,
      reasonCode: 'yara_match',
      facts: { top_finding: 'yara:SecAI_Reverse_Shell', yara_rules: 'SecAI_Reverse_Shell' },
    });
  });

  it('fails a pickle stream ranked pickleFailRank or worse (default: embedded)', () => {
    const verdictOf = (pv: FilePickleVerdict, rank?: number) =>
      staticScanVerdict(
        scanOf([file({ pickles: pickles(pv) })]),
        T(rank === undefined ? {} : { pickleFailRank: rank }),
      );
    expect(DEFAULT_STATIC_SCAN_THRESHOLDS.pickleFailRank).toBe(2);
    expect(verdictOf('none').reasonCode).toBe('static_scan_ok');
    expect(verdictOf('clean').reasonCode).toBe('static_scan_ok');
    expect(verdictOf('embedded').reasonCode).toBe('pickle_embedded');
    expect(verdictOf('incomplete').reasonCode).toBe('pickle_scan_incomplete');
    expect(verdictOf('suspicious').reasonCode).toBe('pickle_suspicious');
    expect(verdictOf('malicious')).toMatchObject({
      passed: false,
      reasonCode: 'pickle_malicious',
      detail: 'malicious pickle stream at offset 4096: a malicious stream',
      facts: { top_finding: 'pickle:malicious', pickle_verdict: 'malicious' },
    });
    // Rank 3 admits a stream that imports something harmless; never a scan that ran out of budget.
    expect(verdictOf('embedded', 3).reasonCode).toBe('static_scan_ok');
    expect(verdictOf('incomplete', 3).reasonCode).toBe('pickle_scan_incomplete');
    // Rank 1 fails even inert chance streams.
    expect(verdictOf('clean', 1)).toMatchObject({ passed: false, reasonCode: 'pickle_clean' });
    expect(verdictOf('none', 1).reasonCode).toBe('static_scan_ok');
  });

  it('names the worst pickle of a directory and the file it is in', () => {
    const v = staticScanVerdict(
      scanOf(
        [
          file({ rel: 'unet/a.safetensors', format: 'safetensors', pickles: pickles('embedded') }),
          file({ rel: 'vae/b.safetensors', format: 'safetensors', pickles: pickles('suspicious') }),
        ],
        { kind: 'directory' },
      ),
      T(),
    );
    expect(v.reasonCode).toBe('pickle_suspicious');
    expect(v.detail).toMatch(/^vae\/b\.safetensors: suspicious pickle stream/);
  });

  it('fails a near-random entropy window, after the pickles', () => {
    const entropy = {
      fileSize: 1 << 20,
      windows: [],
      min: 7.995,
      max: 7.995,
      mean: 7.995,
      threshold: 7.99,
      flagged: [
        {
          offset: 8192,
          length: 4096,
          bitsPerByte: 7.995,
          inWeightRegion: true,
          flagged: true,
          lowEntropy: false,
        },
      ],
    };
    expect(staticScanVerdict(scanOf([file({ entropy })]), T())).toMatchObject({
      passed: false,
      reasonCode: 'entropy_near_random',
      facts: { entropy_flagged: 1, entropy_max: 7.995 },
    });
    expect(
      staticScanVerdict(scanOf([file({ entropy, pickles: pickles('embedded') })]), T()).reasonCode,
    ).toBe('pickle_embedded');
  });

  it('fails a file that is neither GGUF nor safetensors', () => {
    const v = staticScanVerdict(
      scanOf([
        file({ format: 'unknown', formatDetail: 'safetensors_bad_json', weights: undefined }),
      ]),
      T(),
    );
    expect(v).toMatchObject({ passed: false, reasonCode: 'unsupported_format' });
    expect(v.detail).toContain('safetensors_bad_json');
  });

  it('which weight findings fail: reference anomalies of any severity, and gguf-guard FAIL', () => {
    const verdictOf = (findings: WeightFinding[], over: Partial<StaticScanThresholds> = {}) =>
      staticScanVerdict(scanOf([file({ weights: weights(findings) })]), T(over));
    // Reference weight_stats anomalies fail the stage even as warnings (gguf-guard: WARN)...
    const warning = ['q', 'k', 'v'].map((x) =>
      finding('large_mean', 'warning', `blk.0.attn_${x}.weight`),
    );
    expect(scoreGuardFindings(warning).verdict).toBe('WARN');
    expect(verdictOf(warning)).toMatchObject({
      passed: false,
      reasonCode: 'weight_anomaly',
      facts: { top_finding: 'blk.0.attn_q.weight:large_mean' },
    });
    // ...unless policy leaves it to gguf-guard, whose WARN passes.
    expect(verdictOf(warning, { weightAnomalyFails: 0 })).toMatchObject({
      passed: true,
      facts: { guard_verdict: 'WARN' },
    });
    // A lone reference anomaly (gguf-guard: PASS) fails too; a warning outside the reference's
    // four codes does not.
    expect(verdictOf([finding('mostly_zero', 'warning')]).reasonCode).toBe('weight_anomaly');
    expect(verdictOf([finding('high_outlier_ratio', 'warning')]).passed).toBe(true);
    // Info findings pass.
    expect(verdictOf([finding('quant_saturation_low', 'info')]).passed).toBe(true);
    // Any critical finding is gguf-guard FAIL, which fails the stage.
    expect(verdictOf([finding('nan_values', 'critical')])).toMatchObject({
      passed: false,
      reasonCode: 'guard_fail',
      facts: { guard_verdict: 'FAIL' },
    });
    // So do warnings that add up above the fail score (6 × 0.10 > 0.5).
    const many = Array.from({ length: 6 }, (_, i) =>
      finding('high_outlier_ratio', 'warning', `blk.${i}.ffn_up.weight`),
    );
    expect(verdictOf(many).reasonCode).toBe('guard_fail');
    // A tensor type the scanner cannot read is not an anomaly and is not counted.
    expect(verdictOf([finding('unsupported_type', 'info')])).toMatchObject({
      passed: true,
      facts: { findings: 0 },
    });
  });

  it('a directory: refused by the inspection, or without any safetensors file', () => {
    expect(
      staticScanVerdict({ kind: 'directory', refused: 'symlink at unet/x' }, T()),
    ).toMatchObject({
      passed: false,
      reasonCode: 'directory_invalid',
      detail: 'symlink at unet/x',
    });
    const onlyJson = file({ rel: 'model_index.json', format: 'unknown', weights: undefined });
    expect(staticScanVerdict(scanOf([onlyJson], { kind: 'directory' }), T())).toMatchObject({
      passed: false,
      reasonCode: 'no_safetensors',
    });
    const st = file({ rel: 'unet/w.safetensors', format: 'safetensors' });
    expect(staticScanVerdict(scanOf([onlyJson, st], { kind: 'directory' }), T())).toMatchObject({
      passed: true,
      facts: { format: 'directory', files_scanned: 2 },
    });
  });

  it('keeps artifact names out of facts and details but for [A-Za-z0-9._:/-]', () => {
    const v = staticScanVerdict(
      scanOf([file({ weights: weights([finding('large_mean', 'warning', 'evil\n$(id)')]) })]),
      T(),
    );
    expect(v.facts.top_finding).toBe('evil___id_:large_mean');
    expect(v.detail).toBe('1 weight anomalies: evil___id_: large_mean in evil?$(id)');
  });
});

describe('diffusionVerdict: the diffusion deep scan rule', () => {
  const report = (over: Partial<DiffusionScanReport> = {}): DiffusionScanReport => ({
    ok: true,
    className: 'StableDiffusionPipeline',
    components: 5,
    files: 11,
    safetensors: 3,
    issues: [],
    inertPickles: [],
    ...over,
  });

  it('passes a directory without issues', () => {
    expect(diffusionVerdict(report())).toMatchObject({
      passed: true,
      reasonCode: 'diffusion_ok',
      facts: { class_name: 'StableDiffusionPipeline', issues: 0, first_issue: '' },
    });
  });

  it('fails on any issue, named by the first one met', () => {
    const v = diffusionVerdict(
      report({
        ok: false,
        issues: [
          { code: 'remote_code', path: 'text_encoder/config.json', detail: 'auto_map names code' },
          { code: 'polyglot', path: 'unet/w.safetensors', detail: 'zip_eocd' },
        ],
      }),
    );
    expect(v).toMatchObject({
      passed: false,
      reasonCode: 'remote_code',
      facts: { issues: 2, first_issue: 'remote_code:text_encoder/config.json' },
    });
    expect(v.detail).toContain('polyglot unet/w.safetensors: zip_eocd');
  });

  it('judges embedded pickles by pickleFailRank, as the static scan does', () => {
    const embedded = report({
      ok: false,
      issues: [
        {
          code: 'embedded_pickle',
          path: 'unet/w.safetensors',
          detail: 'embedded pickle stream at offset 10: imports collections.OrderedDict',
          pickleVerdict: 'embedded',
        },
      ],
    });
    expect(diffusionVerdict(embedded).reasonCode).toBe('embedded_pickle');
    expect(diffusionVerdict(embedded, 3)).toMatchObject({ passed: true, facts: { issues: 0 } });
    const incomplete = report({
      ok: false,
      issues: [
        {
          code: 'pickle_scan_incomplete',
          path: 'unet/w.safetensors',
          detail: 'scan budget exhausted',
          pickleVerdict: 'incomplete',
        },
      ],
    });
    expect(diffusionVerdict(incomplete, 3).reasonCode).toBe('pickle_scan_incomplete');
    const inert = report({ inertPickles: [{ path: 'vae/w.safetensors', streams: 2 }] });
    expect(diffusionVerdict(inert).passed).toBe(true);
    expect(diffusionVerdict(inert, 1)).toMatchObject({
      passed: false,
      reasonCode: 'embedded_pickle',
      facts: { first_issue: 'embedded_pickle:vae/w.safetensors' },
    });
  });
});

describe('hashPinVerdict: the hash pin rule with its lock', () => {
  const artifact = {
    filename: 'tiny.gguf',
    sha256: 'a'.repeat(64),
    sourceUrl: null,
  };

  it('no lock is an empty lock: a local import is a recorded first use', () => {
    expect(hashPinVerdict({ lockText: null, ...artifact })).toMatchObject({
      passed: true,
      reasonCode: 'first_use',
      facts: { pin: 'first_use' },
    });
  });

  it('a broken lock is not an empty one: it fails, naming the problem', () => {
    const v = hashPinVerdict({ lockText: 'version: 1\nmodels: {}\n', ...artifact });
    expect(v).toMatchObject({
      passed: false,
      reasonCode: 'lock_invalid',
      facts: { pin: 'not_checked' },
    });
    expect(v.detail).toMatch(/^models\.lock\.yaml is invalid: .*models/);
  });

  it('a blocked hash fails whatever its name', () => {
    const lockText = `version: 1
models:
  - name: evil
    format: gguf
    source: https://example.org/evil
    filename: other.gguf
    sha256: ${'a'.repeat(64)}
    blocked: true
    blocked_reason: known backdoor
`;
    expect(hashPinVerdict({ lockText, ...artifact })).toMatchObject({
      passed: false,
      reasonCode: 'blocked',
      detail: 'blocked by policy: known backdoor',
      facts: { pin: 'blocked' },
    });
  });
});

describe('provenance: the stage around src/provenance', () => {
  const params = { bundlePath: null, keys: [], certificates: [], requireSignature: false };

  it('refuses a request that is not one (config_invalid)', () => {
    for (const bad of [
      { path: 1, kind: 'file', params },
      { path: '/a', kind: 'socket', params },
      { path: '/a', kind: 'file', params: { ...params, keys: 'k' } },
      { path: '/a', kind: 'file' },
    ]) {
      const r = provenanceRequestOf(bad);
      expect(r.ok, JSON.stringify(bad)).toBe(false);
      if (!r.ok) expect(r.verdict).toMatchObject({ passed: false, reasonCode: 'config_invalid' });
    }
    expect(provenanceRequestOf({ path: '/a', kind: 'directory', params })).toEqual({
      ok: true,
      request: {
        artifactPath: '/a',
        kind: 'directory',
        bundlePath: null,
        keys: [],
        certificates: [],
        requireSignature: false,
      },
    });
  });

  it('prints level and files, and the signer only when there is one', () => {
    const base = { passed: true, detail: 'd', files: 2 } as const;
    expect(
      workerOutput(
        provenanceStageVerdict({
          ...base,
          reasonCode: 'signature_ok',
          level: 'signature-verified',
          signer: 'key-1',
        }),
      ),
    ).toEqual({
      passed: true,
      reasonCode: 'signature_ok',
      detail: 'd',
      level: 'signature-verified',
      files: 2,
      signer: 'key-1',
    });
    expect(
      provenanceStageVerdict({ ...base, reasonCode: 'unsigned', level: 'none', signer: null })
        .facts,
    ).toEqual({ level: 'none', files: 2 });
  });
});

describe('behavioural test: the choices around behaviorVerdict', () => {
  it('runs with policy’s context, else the training context clamped to [2048, 4096]', () => {
    expect(behaviorContextSize(undefined)).toBe(4096);
    expect(behaviorContextSize(512)).toBe(2048);
    expect(behaviorContextSize(3000)).toBe(3000);
    expect(behaviorContextSize(131_072)).toBe(4096);
    expect(behaviorContextSize(131_072, 8192)).toBe(8192);
  });

  it('a model it cannot load fails, in printable words', () => {
    expect(modelLoadFailed('bad\u0000model', { threads: 1 })).toEqual({
      passed: false,
      reasonCode: 'model_load_failed',
      detail: 'bad?model',
      facts: { threads: 1 },
    });
  });
});

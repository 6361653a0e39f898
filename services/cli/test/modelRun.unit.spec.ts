import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '@secai/contracts';
import { matchArtifact } from '../src/commands/modelArtifacts.js';
import { artifactRun, evidenceText, rejectionLines, runLines } from '../src/commands/modelRun.js';
import { CliError } from '../src/errors.js';

// The pure half of issue 11 §3 on the CLI side: a quarantine run's events read back as the
// stages, the rejection (detail, evidence, deleted bytes) and the next step, and an import
// found by digest, prefix or name. The booted path is in modelRejected.e2e.spec.ts.
const HEX = 'ab'.repeat(32);
const OTHER = 'ab'.repeat(6) + 'cd'.repeat(26);
const isolation = {
  sandbox: 'namespaces',
  network: 'none',
  credentialless: true,
  readOnlyArtifact: true,
  timeoutMs: 1000,
  outputLimitBytes: 1000,
  exitCode: 0,
  signal: null,
  reapedDescendants: 0,
};

let n = 0;
function ev(type: string, data: Record<string, unknown>, hex = HEX): CloudEvent {
  n++;
  return {
    specversion: '1.0',
    id: `id-${n}`,
    source: 'secai://quarantine',
    type,
    subject: `artifact/${hex}`,
    time: `2025-01-01T00:00:${String(n).padStart(2, '0')}Z`,
    datacontenttype: 'application/json',
    dataschema: `urn:secai:event:${type}:v1`,
    data,
    correlationid: 'c',
  };
}

const acquired = (displayName?: string) =>
  ev('model.acquired', {
    kind: 'file',
    name: 'bad.gguf',
    ...(displayName ? { displayName } : {}),
    sizeBytes: 400,
    digest: `sha256:${HEX}`,
    source: { via: 'import' },
  });
const started = (attempt: number) =>
  ev('quarantine.started', {
    attempt,
    policyDigest: `sha256:${'00'.repeat(32)}`,
    plannedStages: ['source_policy', 'format_gate', 'hash_pin', 'static_scan'],
  });
const passed = ev('quarantine.stage.passed', {
  stage: 'source_policy',
  reasonCode: 'local_import',
  result: {},
  durationMs: 1,
  isolation: { ...isolation, sandbox: 'none' },
});
const failed = ev('quarantine.stage.failed', {
  stage: 'format_gate',
  reasonCode: 'unknown_format',
  reason: 'not a GGUF or safetensors file (magic 74686973)',
  result: { magic: '74686973', size_bytes: 400, peak_rss_kib: 49536 },
  durationMs: 12,
  isolation,
});
const rejectedByStage = ev('model.rejected', {
  decisionId: null,
  name: 'bad.gguf',
  stage: 'format_gate',
  reasonCode: 'unknown_format',
  reason: 'format_gate failed: not a GGUF or safetensors file (magic 74686973)',
});
const advice = (code: string) => `do something about ${code}`;

describe('artifactRun', () => {
  it('reads a stage rejection: stages run and not run, the detail without prefix, the evidence (not the worker’s memory), bytes deleted, next step', () => {
    const run = artifactRun(
      [acquired('Bad one'), started(1), passed, failed, rejectedByStage],
      advice,
    )!;
    expect(run).toMatchObject({
      artifact: HEX,
      digest: `sha256:${HEX}`,
      name: 'Bad one',
      fileName: 'bad.gguf',
      outcome: 'rejected',
      attempt: 1,
      notRun: ['hash_pin', 'static_scan'],
    });
    expect(run.stages.map((s) => [s.stage, s.passed, s.sandbox])).toEqual([
      ['source_policy', true, 'none'],
      ['format_gate', false, 'namespaces'],
    ]);
    expect(run.rejection).toEqual({
      stage: 'format_gate',
      reasonCode: 'unknown_format',
      detail: 'not a GGUF or safetensors file (magic 74686973)',
      evidence: { magic: '74686973', size_bytes: 400 },
      decisionId: null,
      bytesDeleted: true,
      nextStep: 'do something about unknown_format',
    });
  });

  it('reads only the latest run: a re-import after a rejection is in quarantine, not rejected', () => {
    const run = artifactRun(
      [acquired(), started(1), passed, failed, rejectedByStage, acquired(), started(2), passed],
      advice,
    )!;
    expect(run).toMatchObject({ outcome: 'in_quarantine', attempt: 2, rejection: null });
    expect(run.stages).toHaveLength(1);
    expect(run.name).toBe('bad.gguf');
  });

  it('a promotion decision that denies: no stage, the decision reason and id as evidence', () => {
    const denied = ev('model.rejected', {
      decisionId: 'dec-1',
      name: 'bad.gguf',
      stage: null,
      reasonCode: 'model.unsigned',
      reason: 'promotion denied: unsigned models are not allowed',
    });
    const run = artifactRun([acquired(), started(1), passed, denied], advice)!;
    expect(run.rejection).toMatchObject({
      stage: null,
      reasonCode: 'model.unsigned',
      detail: 'promotion denied: unsigned models are not allowed',
      evidence: { decision_id: 'dec-1' },
      decisionId: 'dec-1',
    });
    expect(rejectionLines(run.rejection!)[0]).toBe(
      'rejected by the promotion decision (model.unsigned): promotion denied: unsigned models are not allowed',
    );
  });

  it('no acquisition, no run', () => {
    expect(artifactRun([], advice)).toBeNull();
  });
});

describe('rendering', () => {
  it('says the detail once, the evidence, the deletion, and ends with the next step', () => {
    const run = artifactRun([acquired(), started(1), passed, failed, rejectedByStage], advice)!;
    const text = runLines(run).join('\n');
    expect(text.split('not a GGUF or safetensors file').length - 1).toBe(1);
    expect(text).toMatch(/FAILED\s+format_gate\s+unknown_format\s+\(namespaces, network none\)/);
    expect(text).toContain('evidence: magic=74686973, size_bytes=400');
    expect(text).toContain('not run: hash_pin, static_scan');
    expect(text).toContain('deleted');
    expect(text.split('\n').at(-1)).toBe('next: do something about unknown_format');
  });

  it('lists are joined, null shown as null, no facts no evidence line', () => {
    expect(evidenceText({ findings: ['a', 'b'], x: null })).toBe('findings=a|b, x=null');
    const lines = rejectionLines({
      stage: 'format_gate',
      reasonCode: 'c',
      detail: 'd',
      evidence: {},
      decisionId: null,
      bytesDeleted: true,
      nextStep: 'n',
    });
    expect(lines.some((l) => l.includes('evidence'))).toBe(false);
    expect(lines.some((l) => l.includes('next'))).toBe(false);
  });
});

describe('matchArtifact', () => {
  const known = [
    { artifact: HEX, names: ['Bad one', 'bad.gguf'] },
    { artifact: OTHER, names: ['other.gguf'] },
  ];
  it('by full digest, hex, unique prefix, --name or file name', () => {
    expect(matchArtifact(known, `sha256:${HEX}`)).toBe(HEX);
    expect(matchArtifact(known, OTHER)).toBe(OTHER);
    expect(matchArtifact(known, HEX.slice(0, 14))).toBe(HEX);
    expect(matchArtifact(known, 'Bad one')).toBe(HEX);
    expect(matchArtifact(known, 'other.gguf')).toBe(OTHER);
    expect(matchArtifact(known, 'nothing')).toBeNull();
  });
  it('an ambiguous prefix or name is a usage error', () => {
    expect(() => matchArtifact(known, HEX.slice(0, 12))).toThrow(CliError);
    const twice = [...known, { artifact: 'ef'.repeat(32), names: ['other.gguf'] }];
    expect(() => matchArtifact(twice, 'other.gguf')).toThrow(/2 imports are named other.gguf/);
  });
});

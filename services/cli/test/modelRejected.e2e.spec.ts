import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextStepFor } from '@secai/quarantine';
import { secai, startBoot, type Booted } from './harness.js';

// Issue 11 §3, the CLI side: a rejection a user can act on. A file with a bad magic number is
// rejected by the format gate; the rejection is printed once, `--json` carries its stage, code and
// detail, every rejection and refusal ends with what to do next, and `model show` finds the
// rejected run (by name or digest) instead of answering MODEL_UNKNOWN.
let stateDir: string;
let work: string;
let booted: Booted;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'secai-rejected-e2e-'));
  work = await mkdtemp(join(tmpdir(), 'secai-rejected-src-'));
  booted = await startBoot(stateDir);
}, 90_000);

afterAll(async () => {
  if (booted) {
    process.kill(-booted.child.pid!, 'SIGTERM');
    await booted.exit;
  }
  await rm(stateDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

const sd = () => ['--state-dir', stateDir];

interface Rejected {
  artifact: string;
  digest: string;
  outcome: string;
  stage: string | null;
  reasonCode: string;
  detail: string;
  evidence: Record<string, unknown>;
  bytesDeleted: boolean;
  nextStep: string;
}

/** A file that is neither GGUF nor safetensors: its first bytes are text. */
async function badMagic(name: string, text: string): Promise<string> {
  const path = join(work, name);
  await writeFile(path, `${text}\n`.repeat(20));
  return path;
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

interface StageFailed {
  stage: string;
  reasonCode: string;
  reason: string;
}

let rejected: Rejected;

describe('secai model: answers a user can act on (issue 11 §3)', () => {
  it('--json on a rejection carries stage, reasonCode, detail, evidence and the next step', async () => {
    const path = await badMagic('json-bad.gguf', 'this is not a model');
    const r = await secai(['model', 'import', path, '--name', 'json bad', ...sd(), '--json']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    // One document on stdout, nothing else.
    expect(lines).toHaveLength(1);
    rejected = JSON.parse(lines[0]!) as Rejected;
    expect(rejected).toMatchObject({
      outcome: 'rejected',
      stage: 'format_gate',
      bytesDeleted: true,
    });
    expect(rejected.reasonCode).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(rejected.detail.length).toBeGreaterThan(0);
    expect(typeof rejected.evidence).toBe('object');
    expect(rejected.nextStep).toBe(nextStepFor(rejected.reasonCode));
    expect(r.stderr).toContain('MODEL_REJECTED');
  }, 240_000);

  it('prints a rejection once, and ends it with one line that says what to do next', async () => {
    const path = await badMagic('human-bad.gguf', 'plain text, no magic here');
    const r = await secai(['model', 'import', path, '--name', 'human bad', ...sd()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED\s+format_gate/);
    // The detail is the format gate's own words (the stage event's reason); with both streams on
    // one terminal it must show once.
    const hex = /acquired sha256:([0-9a-f]{64})/.exec(r.stdout)![1]!;
    const tail = await secai([
      'events',
      'tail',
      '--type',
      'quarantine.stage.failed',
      '--limit',
      '20',
      ...sd(),
      '--json',
    ]);
    const failed = tail.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: { subject: string; data: StageFailed } }).event)
      .filter((e) => e.subject === `artifact/${hex}`)
      .map((e) => e.data);
    expect(failed).toHaveLength(1);
    const { reason: detail, reasonCode } = failed[0]!;
    const both = `${r.stdout}${r.stderr}`;
    expect(occurrences(both, detail)).toBe(1);
    const last = both.trim().split('\n').at(-1)!;
    expect(last).toBe(`next: ${nextStepFor(reasonCode)}`);
    expect(occurrences(both, 'next: ')).toBe(1);
  }, 240_000);

  it('an intake refusal prints a JSON document on stdout with --json and exits 2', async () => {
    const r = await secai(['model', 'import', join(work, 'nope.gguf'), ...sd(), '--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ outcome: 'refused', reasonCode: 'not_found' });
    expect(typeof doc.detail).toBe('string');
    expect(doc.nextStep).toBe(nextStepFor('not_found'));
    expect(r.stderr).toContain('not_found');
  }, 60_000);

  it('an intake refusal without --json also ends with the next step', async () => {
    const r = await secai(['model', 'import', join(work, 'missing.gguf'), ...sd()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('REFUSED: not_found');
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`next: ${nextStepFor('not_found')}`);
  }, 60_000);

  it('model show finds a rejected artifact by name: every stage, the reason, the evidence, the bytes deleted', async () => {
    const r = await secai(['model', 'show', 'json bad', ...sd()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(rejected.digest);
    expect(r.stdout).toMatch(/passed\s+source_policy/);
    expect(r.stdout).toMatch(new RegExp(`FAILED\\s+format_gate\\s+${rejected.reasonCode}`));
    expect(r.stdout).toContain(rejected.detail);
    for (const [key, value] of Object.entries(rejected.evidence))
      expect(r.stdout).toContain(`${key}=${String(value)}`);
    expect(r.stdout).toMatch(/deleted/);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`next: ${rejected.nextStep}`);
  }, 60_000);

  it('model show finds it by digest and by a 12-hex prefix too; --json has the run', async () => {
    for (const ref of [rejected.digest, rejected.digest.slice(7, 21)]) {
      const r = await secai(['model', 'show', ref, ...sd(), '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout) as {
        model: null;
        outcome: string;
        artifact: { digest: string; name: string };
        stages: { stage: string; passed: boolean; reasonCode: string }[];
        rejection: Omit<Rejected, 'artifact' | 'digest' | 'outcome'>;
      };
      expect(doc.model).toBeNull();
      expect(doc.outcome).toBe('rejected');
      expect(doc.artifact).toMatchObject({ digest: rejected.digest, name: 'json bad' });
      expect(doc.stages.map((s) => [s.stage, s.passed])).toEqual([
        ['source_policy', true],
        ['format_gate', false],
      ]);
      expect(doc.rejection).toMatchObject({
        stage: 'format_gate',
        reasonCode: rejected.reasonCode,
        detail: rejected.detail,
        evidence: rejected.evidence,
        bytesDeleted: true,
        nextStep: rejected.nextStep,
      });
    }
  }, 60_000);

  it('a name nothing was ever imported under is still MODEL_UNKNOWN', async () => {
    const r = await secai(['model', 'show', 'never imported', ...sd()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MODEL_UNKNOWN');
  }, 60_000);
});

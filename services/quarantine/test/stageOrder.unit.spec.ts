import { describe, expect, it } from 'vitest';
import { foldEvents, type EventData, type QuarantineStageName } from '@secai/contracts';
import { deciderSpec } from '@secai/contracts/testing';
import {
  nextOf,
  planFor,
  runDecider,
  sortHeld,
  stagesToStart,
  type ArtifactEvent,
  type ArtifactEventType,
  type BoundPolicy,
  type RunCommand,
  type StageOutcome,
} from '../src/index.js';

// Stages started ahead of their turn (issue 11 §6): which start together, and what becomes of
// their outcomes. Given a run, when the edge has outcomes in some order, then only the stage the
// run asks for is recorded, in plan order, and the first failure in plan order decides.
const spec = deciderSpec(runDecider);
const BUNDLE = `sha256:${'c'.repeat(64)}`;
const POLICY: BoundPolicy = { digest: BUNDLE, policyDigest: `sha256:${'e'.repeat(64)}` };
const SAFETENSORS = planFor('file', false);
const GGUF = planFor('file', true);
const DIFFUSERS = planFor('directory', false);
const isolation = {
  sandbox: 'namespaces',
  network: 'none' as const,
  credentialless: true,
  readOnlyArtifact: true,
  timeoutMs: 120000,
  outputLimitBytes: 1048576,
  exitCode: 0,
  signal: null,
  reapedDescendants: 0,
};

let n = 0;
function stored<T extends ArtifactEventType>(type: T, data: EventData<T>): ArtifactEvent {
  n++;
  return {
    type,
    data,
    meta: { id: `id-${n}`, time: new Date(Date.UTC(2026, 11, 7, 0, 0, n)).toISOString() },
  } as ArtifactEvent;
}
const runAtFormatGate = (): ArtifactEvent[] => [
  stored('model.acquired', {
    kind: 'file',
    name: 'large.safetensors',
    sizeBytes: 1 << 30,
    digest: `sha256:${'ab'.repeat(32)}`,
    source: { via: 'import' },
  }),
  stored('quarantine.started', { attempt: 1, policyDigest: BUNDLE, plannedStages: SAFETENSORS }),
  stored('quarantine.stage.passed', {
    stage: 'source_policy',
    reasonCode: 'local_import',
    result: {},
    durationMs: 0,
    isolation,
  }),
];
const outcome = (passed: boolean, reasonCode: string): StageOutcome => ({
  passed,
  reasonCode,
  detail: passed ? '' : `${reasonCode}: refused`,
  result: {},
  isolation,
  durationMs: 10,
});
const record = (stage: 'format_gate' | 'static_scan', o: StageOutcome): RunCommand => ({
  type: 'RecordStage',
  stage,
  outcome: o,
});
const advance: RunCommand = {
  type: 'Advance',
  now: new Date(Date.UTC(2026, 11, 7)),
  policy: POLICY,
  ggufMagic: false,
  newCorrelationId: 'run-2',
};

describe('stagesToStart', () => {
  it('starts the read-only stages of a file together when the format gate is asked', () => {
    expect(stagesToStart(SAFETENSORS, 'format_gate')).toEqual([
      'format_gate',
      'hash_pin',
      'provenance',
      'static_scan',
    ]);
    expect(stagesToStart(GGUF, 'format_gate')).toEqual([
      'format_gate',
      'hash_pin',
      'provenance',
      'static_scan',
    ]);
  });

  it('starts from the stage asked (a run resumed mid-way), never an earlier one', () => {
    expect(stagesToStart(SAFETENSORS, 'provenance')).toEqual(['provenance', 'static_scan']);
    expect(stagesToStart(SAFETENSORS, 'static_scan')).toEqual(['static_scan']);
  });

  it('never starts the behavioural test or the diffusion scan ahead, nor anything beside them', () => {
    expect(stagesToStart(GGUF, 'behavioral_test')).toEqual(['behavioral_test']);
    expect(stagesToStart(DIFFUSERS, 'diffusion_scan')).toEqual(['diffusion_scan']);
    expect(stagesToStart(DIFFUSERS, 'format_gate')).not.toContain('diffusion_scan');
    expect(stagesToStart(GGUF, 'hash_pin')).not.toContain('behavioral_test');
  });

  it('stops at the first stage of another kind: nothing past it starts ahead', () => {
    const plan: QuarantineStageName[] = ['format_gate', 'behavioral_test', 'static_scan'];
    expect(stagesToStart(plan, 'format_gate')).toEqual(['format_gate']);
  });

  it('runs a stage the plan does not name on its own', () => {
    expect(stagesToStart(['format_gate'], 'static_scan')).toEqual(['static_scan']);
  });
});

describe('sortHeld', () => {
  const held = ['hash_pin', 'provenance', 'static_scan'] as const;

  it('takes the stage the run asks for and keeps the ones planned after it', () => {
    expect(sortHeld(SAFETENSORS, held, { kind: 'run_stage', stage: 'hash_pin' }, true)).toEqual({
      take: 'hash_pin',
      keep: ['provenance', 'static_scan'],
      discard: [],
    });
    expect(
      sortHeld(SAFETENSORS, ['static_scan'], { kind: 'run_stage', stage: 'static_scan' }, true),
    ).toEqual({ take: 'static_scan', keep: [], discard: [] });
  });

  it('discards everything once an earlier stage failed', () => {
    expect(
      sortHeld(
        SAFETENSORS,
        held,
        { kind: 'reject', stage: 'format_gate', reasonCode: 'unknown_format' },
        true,
      ),
    ).toEqual({ take: null, keep: [], discard: [...held] });
  });

  it('discards outcomes computed for another run or under another bundle', () => {
    expect(sortHeld(SAFETENSORS, held, { kind: 'run_stage', stage: 'hash_pin' }, false)).toEqual({
      take: null,
      keep: [],
      discard: [...held],
    });
  });

  it('discards everything when the run completed, waits or ended', () => {
    for (const step of [
      { kind: 'complete' },
      { kind: 'await_decision' },
      { kind: 'start' },
      { kind: 'done', outcome: 'rejected' },
    ] as const)
      expect(sortHeld(SAFETENSORS, held, step, true).discard).toEqual([...held]);
  });

  it('discards a held stage the run went past (recorded by another writer meanwhile)', () => {
    expect(sortHeld(SAFETENSORS, held, { kind: 'run_stage', stage: 'provenance' }, true)).toEqual({
      take: 'provenance',
      keep: ['static_scan'],
      discard: ['hash_pin'],
    });
    expect(
      sortHeld(GGUF, ['static_scan'], { kind: 'run_stage', stage: 'behavioral_test' }, true),
    ).toEqual({ take: null, keep: [], discard: ['static_scan'] });
  });
});

describe('outcomes finished out of plan order', () => {
  it('given the static scan finished first, when it is offered before the format gate, then it is not recorded', () => {
    const history = runAtFormatGate();
    expect(stagesToStart(SAFETENSORS, 'format_gate')).toContain('static_scan');
    spec
      .given(history)
      .when(record('static_scan', outcome(true, 'clean')))
      .thenRefuses('stage_not_expected', []);
  });

  it('given the format gate then fails, the run fails with its reason and the early outcomes are discarded', () => {
    const history = runAtFormatGate();
    const [gateFailed] = spec
      .given(history)
      .when(record('format_gate', outcome(false, 'unknown_format')))
      .then([
        {
          type: 'quarantine.stage.failed',
          data: {
            stage: 'format_gate',
            reasonCode: 'unknown_format',
            reason: 'unknown_format: refused',
            result: {},
            durationMs: 10,
            isolation,
          },
          meta: { causationId: history.at(-1)!.meta.id!, correlationId: history[0]!.meta.id! },
        },
      ]).events;
    const after = [...history, { ...gateFailed!, meta: { ...gateFailed!.meta, id: 'gate' } }];
    const step = nextOf(foldEvents(runDecider, after).run!);
    expect(step).toEqual({ kind: 'reject', stage: 'format_gate', reasonCode: 'unknown_format' });
    // What the coordinator held (started beside the gate, the static scan already finished):
    expect(sortHeld(SAFETENSORS, ['hash_pin', 'provenance', 'static_scan'], step, true)).toEqual({
      take: null,
      keep: [],
      discard: ['hash_pin', 'provenance', 'static_scan'],
    });
    const [rejected] = spec
      .given(after)
      .when(advance)
      .thenEffects([{ kind: 'discard' }]).events;
    expect(rejected).toMatchObject({
      type: 'model.rejected',
      data: { stage: 'format_gate', reasonCode: 'unknown_format' },
    });
    // A late outcome of a later stage changes nothing once the run failed.
    spec
      .given(after)
      .when(record('static_scan', outcome(false, 'yara_match')))
      .thenRefuses('stage_not_expected', []);
  });

  it('given the format gate passed, the next stage asked takes its held outcome, in plan order', () => {
    const history = runAtFormatGate();
    const [gatePassed] = spec
      .given(history)
      .when(record('format_gate', outcome(true, 'safetensors_ok')))
      .then([expect.objectContaining({ type: 'quarantine.stage.passed' }) as ArtifactEvent]).events;
    const after = [...history, { ...gatePassed!, meta: { ...gatePassed!.meta, id: 'gate' } }];
    const step = nextOf(foldEvents(runDecider, after).run!);
    expect(step).toEqual({ kind: 'run_stage', stage: 'hash_pin' });
    expect(sortHeld(SAFETENSORS, ['hash_pin', 'provenance', 'static_scan'], step, true)).toEqual({
      take: 'hash_pin',
      keep: ['provenance', 'static_scan'],
      discard: [],
    });
  });
});

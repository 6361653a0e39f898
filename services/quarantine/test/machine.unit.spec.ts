import { describe, expect, it } from 'vitest';
import { IllegalStateError, type QuarantineStageName } from '@secai/contracts';
import { transition } from 'xstate';
import {
  assertStageExpected,
  nextStep,
  plannedStages,
  quarantineMachine,
  replayRun,
  type QuarantineContext,
  type QuarantineMachineEvent,
} from '../src/index.js';

const started = (kind: Parameters<typeof plannedStages>[0]): QuarantineMachineEvent => ({
  type: 'quarantine.started',
  plannedStages: plannedStages(kind),
  policyDigest: `sha256:${'a'.repeat(64)}`,
});
const passed = (stage: QuarantineStageName): QuarantineMachineEvent => ({
  type: 'quarantine.stage.passed',
  stage,
});

describe('quarantine machine', () => {
  it('starts in Acquired and asks to start the run', () => {
    expect(replayRun([]).value).toBe('Acquired');
    expect(nextStep(replayRun([]))).toEqual({ kind: 'start' });
  });

  it('walks a GGUF run through one state per stage, in order, ending with the behavioural test', () => {
    const events: QuarantineMachineEvent[] = [started('gguf')];
    const states: string[] = [replayRun(events).value];
    for (const stage of plannedStages('gguf')) {
      expect(nextStep(replayRun(events))).toEqual({ kind: 'run_stage', stage });
      events.push(passed(stage));
      states.push(replayRun(events).value);
    }
    expect(states).toEqual([
      'SourcePolicy',
      'FormatGate',
      'HashPin',
      'Provenance',
      'StaticScan',
      'BehavioralTest',
      'Completing',
    ]);
    events.push({ type: 'quarantine.completed' });
    expect(nextStep(replayRun(events))).toEqual({ kind: 'await_decision' });
    events.push({ type: 'model.promoted' });
    expect(replayRun(events).value).toBe('Promoted');
    expect(nextStep(replayRun(events))).toEqual({ kind: 'done', outcome: 'promoted' });
  });

  it('runs the diffusion scan, not the behavioural test, for a diffusers directory', () => {
    const events = [
      started('diffusion-directory'),
      ...plannedStages('diffusion-directory').slice(0, 5).map(passed),
    ];
    expect(replayRun(events).value).toBe('DiffusionScan');
    expect(nextStep(replayRun(events))).toEqual({ kind: 'run_stage', stage: 'diffusion_scan' });
  });

  it('ends the run at the first failure, which must be rejected', () => {
    const events: QuarantineMachineEvent[] = [
      started('safetensors'),
      passed('source_policy'),
      { type: 'quarantine.stage.failed', stage: 'format_gate', reasonCode: 'tensor_gap' },
    ];
    expect(replayRun(events).value).toBe('Failed');
    expect(nextStep(replayRun(events))).toEqual({
      kind: 'reject',
      stage: 'format_gate',
      reasonCode: 'tensor_gap',
    });
    expect(replayRun([...events, { type: 'model.rejected' }]).value).toBe('Rejected');
  });

  it('resumes after a restart exactly where the stored events left it: no stage twice, none skipped', () => {
    const stored = [
      started('gguf'),
      passed('source_policy'),
      passed('format_gate'),
      passed('hash_pin'),
    ];
    const resumed = replayRun(stored);
    expect(resumed.value).toBe('Provenance');
    expect(nextStep(resumed)).toEqual({ kind: 'run_stage', stage: 'provenance' });
    expect(() => assertStageExpected(resumed, 'format_gate')).toThrow(IllegalStateError);
    expect(() => assertStageExpected(resumed, 'static_scan')).toThrow(IllegalStateError);
    expect(() => assertStageExpected(resumed, 'provenance')).not.toThrow();
  });

  it('ignores a stage result that is out of order instead of skipping ahead', () => {
    const snapshot = replayRun([started('gguf'), passed('format_gate')]);
    expect(snapshot.value).toBe('SourcePolicy');
    expect(snapshot.context.passed).toEqual([]);
  });

  it('round-trips its state through JSON as a cache, and replay agrees with it', () => {
    const events = [started('gguf'), passed('source_policy')];
    const snapshot = replayRun(events);
    const cached = JSON.parse(JSON.stringify(quarantineMachine.getPersistedSnapshot(snapshot))) as {
      value: string;
      context: QuarantineContext;
    };
    // A restored cache must lead to the same next step as the replay, and continue the same way.
    const restored = quarantineMachine.resolveState({
      value: cached.value,
      context: cached.context,
    });
    expect(nextStep(restored)).toEqual(nextStep(snapshot));
    const [after] = transition(quarantineMachine, restored, passed('format_gate'));
    expect(after.value).toBe(replayRun([...events, passed('format_gate')]).value);
  });
});

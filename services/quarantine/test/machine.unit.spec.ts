import { describe, expect, it } from 'vitest';
import type { EventData, QuarantineStageName } from '@secai/contracts';
import { initialTransition, transition } from 'xstate';
import {
  nextStep,
  plannedStages,
  quarantineMachine,
  replayRun,
  type QuarantineContext,
  type RunMachineEvent,
} from '../src/index.js';

// The machine reads the stored events as they are: their type and their data.
const isolation = {
  sandbox: 'namespaces',
  network: 'none' as const,
  credentialless: true,
  readOnlyArtifact: true,
  timeoutMs: 1000,
  outputLimitBytes: 1024,
  exitCode: 0,
  signal: null,
  reapedDescendants: 0,
};
const started = (kind: Parameters<typeof plannedStages>[0]): RunMachineEvent => ({
  type: 'quarantine.started',
  data: {
    attempt: 1,
    plannedStages: plannedStages(kind),
    policyDigest: `sha256:${'a'.repeat(64)}`,
  },
});
const passed = (stage: QuarantineStageName): RunMachineEvent => ({
  type: 'quarantine.stage.passed',
  data: { stage, reasonCode: `${stage}_ok`, result: {}, durationMs: 1, isolation },
});
const failed = (stage: QuarantineStageName, reasonCode: string): RunMachineEvent => ({
  type: 'quarantine.stage.failed',
  data: { stage, reasonCode, reason: 'no', result: {}, durationMs: 1, isolation },
});
const rejected: RunMachineEvent = {
  type: 'model.rejected',
  data: { decisionId: null, name: 'm', stage: 'format_gate', reasonCode: 'x', reason: 'no' },
};
const completed = {
  type: 'quarantine.completed',
  data: {} as EventData<'quarantine.completed'>,
} as RunMachineEvent;
const promoted = {
  type: 'model.promoted',
  data: {} as EventData<'model.promoted'>,
} as RunMachineEvent;

describe('quarantine machine', () => {
  it('starts in acquired and asks to start the run', () => {
    const [snapshot, actions] = initialTransition(quarantineMachine);
    expect(snapshot.value).toBe('acquired');
    expect(actions).toEqual([]);
    expect(nextStep(snapshot)).toEqual({ kind: 'start' });
  });

  it('walks a GGUF run through one snake_case state per stage, named as the stage is', () => {
    const events: RunMachineEvent[] = [started('gguf')];
    const states: unknown[] = [replayRun(events).value];
    for (const stage of plannedStages('gguf')) {
      expect(nextStep(replayRun(events))).toEqual({ kind: 'run_stage', stage });
      events.push(passed(stage));
      states.push(replayRun(events).value);
    }
    expect(states).toEqual([
      'source_policy',
      'format_gate',
      'hash_pin',
      'provenance',
      'static_scan',
      'behavioral_test',
      'completing',
    ]);
    events.push(completed);
    expect(replayRun(events).value).toBe('awaiting_decision');
    expect(nextStep(replayRun(events))).toEqual({ kind: 'await_decision' });
    events.push(promoted);
    expect(replayRun(events).value).toBe('promoted');
    expect(nextStep(replayRun(events))).toEqual({ kind: 'done', outcome: 'promoted' });
  });

  it('runs the diffusion scan, not the behavioural test, for a diffusers directory', () => {
    const events = [
      started('diffusion-directory'),
      ...plannedStages('diffusion-directory').slice(0, 5).map(passed),
    ];
    expect(replayRun(events).value).toBe('diffusion_scan');
    expect(nextStep(replayRun(events))).toEqual({ kind: 'run_stage', stage: 'diffusion_scan' });
  });

  it('stops a safetensors run after the static scan', () => {
    const events = [started('safetensors'), ...plannedStages('safetensors').map(passed)];
    expect(replayRun(events).value).toBe('completing');
  });

  it('ends the run at the first failure, which must be rejected', () => {
    const events = [started('safetensors'), passed('source_policy'), failed('format_gate', 'gap')];
    expect(replayRun(events).value).toBe('failed');
    expect(nextStep(replayRun(events))).toEqual({
      kind: 'reject',
      stage: 'format_gate',
      reasonCode: 'gap',
    });
    expect(replayRun([...events, rejected]).value).toBe('rejected');
  });

  it('resumes after a restart exactly where the stored events left it', () => {
    const resumed = replayRun([
      started('gguf'),
      passed('source_policy'),
      passed('format_gate'),
      passed('hash_pin'),
    ]);
    expect(resumed.value).toBe('provenance');
    expect(nextStep(resumed)).toEqual({ kind: 'run_stage', stage: 'provenance' });
  });

  it('ignores a stage result that is out of order instead of skipping ahead', () => {
    const [first] = transition(quarantineMachine, replayRun([started('gguf')]), passed('hash_pin'));
    expect(first.value).toBe('source_policy');
    expect(first.context.passed).toEqual([]);
    const [second] = transition(quarantineMachine, first, failed('static_scan', 'x'));
    expect(second.value).toBe('source_policy');
  });

  it('ignores a second start and any event before the start', () => {
    const running = replayRun([started('gguf'), passed('source_policy')]);
    const [again] = transition(quarantineMachine, running, started('safetensors'));
    expect(again.value).toBe('format_gate');
    expect(again.context.planned).toEqual(plannedStages('gguf'));
    expect(replayRun([passed('source_policy'), completed]).value).toBe('acquired');
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

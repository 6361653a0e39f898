import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  IllegalStateError,
  schemaProblems,
  supplyChainEvents,
  type CloudEvent,
  type EventData,
  type EventType,
} from '@secai/contracts';
import {
  completedEvent,
  decisionOutcome,
  insideDir,
  planFor,
  stageRejectedEvent,
  startedEvent,
  staticScanOverrides,
  viewRun,
} from '../src/index.js';

// The quarantine service's pure side: given the stored events of an artifact, what its run is
// and exactly which event the next step appends.
const HEX = 'ab'.repeat(32);
const POLICY = `sha256:${'c'.repeat(64)}`;
let n = 0;
function ev<T extends EventType>(
  type: T,
  data: EventData<T>,
  correlationid = 'corr-0',
): CloudEvent {
  n++;
  return {
    specversion: '1.0',
    id: `id-${n}`,
    source: 'secai/quarantine',
    type,
    subject: `artifact/${HEX}`,
    time: new Date(Date.UTC(2026, 10, 27, 4, 0, n)).toISOString(),
    datacontenttype: 'application/json',
    dataschema: `${type}/1`,
    correlationid,
    data,
  };
}
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
const acquired = (name = 'tiny.gguf', displayName?: string) =>
  ev('model.acquired', {
    kind: 'file',
    name,
    ...(displayName ? { displayName } : {}),
    sizeBytes: 1234,
    digest: `sha256:${HEX}`,
    source: { via: 'import' },
  });
const started = (stages = planFor('file', true)) =>
  ev('quarantine.started', { attempt: 1, policyDigest: POLICY, plannedStages: stages }, 'run-1');
const passed = (stage: EventData<'quarantine.stage.passed'>['stage'], result = {}) =>
  ev(
    'quarantine.stage.passed',
    { stage, reasonCode: `${stage}_ok`, result, durationMs: 5, isolation },
    'run-1',
  );

function gguFullRun(): CloudEvent[] {
  return [
    acquired('tiny.gguf', 'Tiny Llama'),
    started(),
    passed('source_policy', { source: 'local' }),
    passed('format_gate', { format: 'gguf' }),
    passed('hash_pin', { pin: 'first_use' }),
    passed('provenance', { level: 'signature-verified', signer: 'release-key' }),
    passed('static_scan'),
    passed('behavioral_test', { score: 0.05, flagged: 2, critical: 0, total_prompts: 44 }),
  ];
}

describe('viewRun', () => {
  it('given no model.acquired, there is no run', () => {
    expect(viewRun(HEX, [])).toBeNull();
  });

  it('given an acquired artifact, the next step is to start it as attempt 1', () => {
    const view = viewRun(HEX, [acquired()])!;
    expect(view.next).toEqual({ kind: 'start' });
    expect(view.attempt).toBe(1);
    const draft = startedEvent(view, planFor('file', true), POLICY);
    expect(draft.data.plannedStages.at(-1)).toBe('behavioral_test');
    expect(schemaProblems(supplyChainEvents['quarantine.started'].schema, draft.data)).toEqual([]);
  });

  it('given two passed stages, the next step is the third planned stage', () => {
    const view = viewRun(HEX, [
      acquired(),
      started(),
      passed('source_policy'),
      passed('format_gate'),
    ])!;
    expect(view.next).toEqual({ kind: 'run_stage', stage: 'hash_pin' });
    expect(view.correlationId).toBe('run-1');
    expect(view.policyDigest).toBe(POLICY);
  });

  it('plans the diffusion scan for directories and no behavioural test for other files', () => {
    expect(planFor('directory', false).at(-1)).toBe('diffusion_scan');
    expect(planFor('file', false)).not.toContain('behavioral_test');
  });

  it('given a run rejected earlier and a new model.acquired, a new run starts as attempt 2', () => {
    const history = [
      acquired(),
      started(),
      ev('quarantine.stage.failed', {
        stage: 'source_policy',
        reasonCode: 'source_not_allowed',
        reason: 'no',
        result: {},
        durationMs: 1,
        isolation,
      }),
      ev('model.rejected', {
        decisionId: null,
        name: 'tiny.gguf',
        stage: 'source_policy',
        reasonCode: 'source_not_allowed',
        reason: 'no',
      }),
      acquired(),
    ];
    const view = viewRun(HEX, history)!;
    expect(view.next).toEqual({ kind: 'start' });
    expect(view.attempt).toBe(2);
    expect(view.events).toHaveLength(1);
  });
});

describe('completion', () => {
  it('when every stage passed, quarantine.completed carries the whole result', () => {
    const view = viewRun(HEX, gguFullRun())!;
    expect(view.next).toEqual({ kind: 'complete' });
    const draft = completedEvent(view, new Date(Date.UTC(2026, 10, 27, 4, 1, 0)));
    expect(draft.data).toMatchObject({
      passed: true,
      format: 'gguf',
      signer: 'release-key',
      provenance: 'signature-verified',
      pin: 'first_use',
      behavioralScore: { score: 0.05, flagged: 2, critical: 0, totalPrompts: 44 },
      failedStage: null,
      policyDigest: POLICY,
    });
    expect(draft.data.stages.map((s) => s.stage)).toEqual(planFor('file', true));
    expect(schemaProblems(supplyChainEvents['quarantine.completed'].schema, draft.data)).toEqual(
      [],
    );
  });

  it('refuses to complete a run that still has stages to run', () => {
    const view = viewRun(HEX, [acquired(), started()])!;
    expect(() => completedEvent(view, new Date())).toThrow(IllegalStateError);
  });

  it('when a stage failed, model.rejected names the stage and its reason, with no decision', () => {
    const view = viewRun(HEX, [
      acquired(),
      started(),
      passed('source_policy'),
      ev('quarantine.stage.failed', {
        stage: 'format_gate',
        reasonCode: 'gguf_overlapping_tensors',
        reason: 'tensor data overlaps',
        result: {},
        durationMs: 3,
        isolation,
      }),
    ])!;
    expect(view.next).toMatchObject({ kind: 'reject', stage: 'format_gate' });
    const draft = stageRejectedEvent(view);
    expect(draft.data).toMatchObject({
      decisionId: null,
      stage: 'format_gate',
      reasonCode: 'gguf_overlapping_tensors',
    });
    expect(schemaProblems(supplyChainEvents['model.rejected'].schema, draft.data)).toEqual([]);
  });
});

describe('promotion decision', () => {
  const awaiting = () => {
    const events = gguFullRun();
    const view = viewRun(HEX, events)!;
    const completed = completedEvent(view, new Date());
    events.push(ev('quarantine.completed', completed.data, 'run-1'));
    return { events, completedId: events.at(-1)!.id };
  };
  const decided = (decision: 'allow' | 'deny', causationId: string) => ({
    id: 'decision-1',
    causationId,
    data: {
      decision,
      reason: decision === 'allow' ? 'all checks passed' : 'behavioural score too high',
      evidence: { ruleId: decision === 'allow' ? 'models.allow' : 'models.behavior_score' },
    } as EventData<'policy.decided'>,
  });

  it('given an allow answering this run, the model is promoted under its display name', () => {
    const { events, completedId } = awaiting();
    const view = viewRun(HEX, events)!;
    expect(view.next).toEqual({ kind: 'await_decision' });
    const draft = decisionOutcome(view, decided('allow', completedId))!;
    expect(draft.type).toBe('model.promoted');
    expect(draft.data).toMatchObject({
      decisionId: 'decision-1',
      name: 'Tiny Llama',
      fileName: 'tiny.gguf',
      format: 'gguf',
      digest: `sha256:${HEX}`,
    });
    expect(schemaProblems(supplyChainEvents['model.promoted'].schema, draft.data)).toEqual([]);
  });

  it('given a deny, the model is rejected with the rule as reason code', () => {
    const { events, completedId } = awaiting();
    const draft = decisionOutcome(viewRun(HEX, events)!, decided('deny', completedId))!;
    expect(draft).toMatchObject({
      type: 'model.rejected',
      data: { decisionId: 'decision-1', stage: null, reasonCode: 'models.behavior_score' },
    });
    expect(schemaProblems(supplyChainEvents['model.rejected'].schema, draft.data)).toEqual([]);
  });

  it('ignores a decision that answers another event (an old run, a duplicate)', () => {
    const { events } = awaiting();
    expect(decisionOutcome(viewRun(HEX, events)!, decided('allow', 'someone-else'))).toBeNull();
  });

  it('ignores a decision once the run has ended', () => {
    const { events, completedId } = awaiting();
    events.push(
      ev('model.promoted', {
        decisionId: 'decision-1',
        name: 'Tiny Llama',
        fileName: 'tiny.gguf',
        format: 'gguf',
        digest: `sha256:${HEX}`,
        sizeBytes: 1234,
        policyDigest: POLICY,
      }),
    );
    expect(decisionOutcome(viewRun(HEX, events)!, decided('allow', completedId))).toBeNull();
  });
});

describe('policy bundle', () => {
  it('maps snake_case static-scan thresholds from policy onto the scanner names', () => {
    expect(
      staticScanOverrides({
        entropy_max_bits_per_byte: 7.9,
        pickle_opcodes_per_mib: 5,
        bogus_key: 1,
      }),
    ).toEqual({ entropyMaxBitsPerByte: 7.9, pickleOpcodesPerMiB: 5, bogus_key: 1 });
  });
});

describe('import staging', () => {
  it('keeps a staging-only caller inside the staging area, through .. and symlinked parents', async () => {
    const root = await mkdtemp(join(tmpdir(), 'secai-staging-'));
    try {
      const staging = join(root, 'import-staging');
      await mkdir(join(staging, 'sub'), { recursive: true });
      await symlink('/etc', join(staging, 'escape'));
      expect(await insideDir(join(staging, 'sub', 'model.gguf'), staging)).toBe(true);
      expect(await insideDir(join(staging, '..', 'secret'), staging)).toBe(false);
      expect(await insideDir(join(staging, 'escape', 'shadow'), staging)).toBe(false);
      expect(await insideDir('/etc/shadow', staging)).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

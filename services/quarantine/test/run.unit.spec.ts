import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  schemaProblems,
  supplyChainEvents,
  type DecisionResponseData,
  type EventData,
  type QuarantineStageName,
} from '@secai/contracts';
import { deciderSpec } from '@secai/contracts/testing';
import {
  NO_WORKER,
  insideDir,
  planFor,
  runDecider,
  staticScanOverrides,
  type ArtifactEvent,
  type ArtifactEventType,
  type BoundPolicy,
  type RunCommand,
} from '../src/index.js';

// The quarantine's rules as a decider: given the stored events of an artifact, when the edge
// reports what it observed, then exactly these events (with the causation and correlation they
// are appended with), this refusal, or this work to do.
const spec = deciderSpec(runDecider);
const HEX = 'ab'.repeat(32);
const BUNDLE = `sha256:${'c'.repeat(64)}`;
const ENGINE_POLICY = `sha256:${'e'.repeat(64)}`;
const POLICY: BoundPolicy = { digest: BUNDLE, policyDigest: ENGINE_POLICY };
const NOW = new Date(Date.UTC(2026, 10, 27, 4, 1, 0));

let n = 0;
function stored<T extends ArtifactEventType>(
  type: T,
  data: EventData<T>,
  correlationId = 'run-1',
): ArtifactEvent {
  n++;
  return {
    type,
    data,
    meta: {
      id: `id-${n}`,
      time: new Date(Date.UTC(2026, 10, 27, 4, 0, n % 60)).toISOString(),
      correlationId,
    },
  } as ArtifactEvent;
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
const acquiredData = (
  extra: Partial<EventData<'model.acquired'>> = {},
): EventData<'model.acquired'> => ({
  kind: 'file',
  name: 'tiny.gguf',
  sizeBytes: 1234,
  digest: `sha256:${HEX}`,
  source: { via: 'import' },
  ...extra,
});
const acquired = (extra: Partial<EventData<'model.acquired'>> = {}) =>
  stored('model.acquired', acquiredData(extra), 'import-1');
const started = (stages = planFor('file', true), attempt = 1) =>
  stored('quarantine.started', { attempt, policyDigest: BUNDLE, plannedStages: stages });
const passed = (stage: QuarantineStageName, result = {}) =>
  stored('quarantine.stage.passed', {
    stage,
    reasonCode: `${stage}_ok`,
    result,
    durationMs: 5,
    isolation,
  });
const failed = (stage: QuarantineStageName, reasonCode: string) =>
  stored('quarantine.stage.failed', {
    stage,
    reasonCode,
    reason: 'no',
    result: {},
    durationMs: 1,
    isolation,
  });
const advance = (policy: BoundPolicy | null = POLICY, ggufMagic = true): RunCommand => ({
  type: 'Advance',
  now: NOW,
  policy,
  ggufMagic,
  newCorrelationId: 'run-1',
});
const lastId = (events: ArtifactEvent[]) => events.at(-1)!.meta.id!;

function ggufRun(): ArtifactEvent[] {
  return [
    acquired({ displayName: 'Tiny Llama' }),
    started(),
    passed('source_policy', { source: 'local' }),
    passed('format_gate', { format: 'gguf' }),
    passed('hash_pin', { pin: 'first_use' }),
    passed('provenance', { level: 'signature-verified', signer: 'release-key' }),
    passed('static_scan'),
    passed('behavioral_test', { score: 0.05, flagged: 2, critical: 0, total_prompts: 44 }),
  ];
}

function answer(
  decision: 'allow' | 'deny',
  ruleId: string,
  extra: Partial<DecisionResponseData> = {},
): RunCommand {
  return {
    type: 'RecordSourceDecision',
    policy: POLICY,
    answer: {
      ok: true,
      response: {
        decision,
        reason: decision === 'allow' ? 'source matches https://huggingface.co/' : 'no match',
        evidence: {
          domain: 'model_source',
          ruleId,
          policyDigest: ENGINE_POLICY,
          inputDigest: `sha256:${'d'.repeat(64)}`,
          evaluatedAt: NOW.toISOString(),
          durationMicros: 3,
          trace: [],
        },
        eventId: 'decision-7',
        ...extra,
      },
    },
  };
}

const valid = (e: ArtifactEvent) =>
  expect(schemaProblems(supplyChainEvents[e.type].schema, e.data)).toEqual([]);

describe('when nothing was acquired', () => {
  it('acquiring records model.acquired with the request as causation', () => {
    const [event] = spec
      .given([])
      .when({
        type: 'Acquire',
        data: acquiredData(),
        causationId: 'req-1',
        correlationId: 'corr-1',
      })
      .then([
        {
          type: 'model.acquired',
          data: acquiredData(),
          meta: { causationId: 'req-1', correlationId: 'corr-1' },
        },
      ]).events;
    valid(event!);
  });

  it('there is no run to advance', () => {
    spec.given([]).when(advance()).thenRefuses('no_run');
  });
});

describe('when acquired', () => {
  it('starts the run bound to the active policy, planning by the format, as attempt 1', () => {
    const history = [acquired()];
    const [event] = spec
      .given(history)
      .when(advance())
      .then([
        {
          type: 'quarantine.started',
          data: { attempt: 1, policyDigest: BUNDLE, plannedStages: planFor('file', true) },
          meta: { causationId: lastId(history), correlationId: 'run-1' },
        },
      ]).events;
    valid(event!);
  });

  it('plans no behavioural test for a file without the GGUF magic', () => {
    const [event] = spec
      .given([acquired()])
      .when(advance(POLICY, false))
      .then([expect.objectContaining({ type: 'quarantine.started' }) as ArtifactEvent]).events;
    expect((event!.data as EventData<'quarantine.started'>).plannedStages).toEqual(
      planFor('file', false),
    );
  });

  it('waits without a policy: no run starts unbound (fail closed)', () => {
    spec.given([acquired()]).when(advance(null)).thenRefuses('policy_unavailable', []);
  });

  it('refuses a second acquisition while the run is open', () => {
    spec
      .given([acquired()])
      .when({ type: 'Acquire', data: acquiredData() })
      .thenRefuses('artifact_in_quarantine', []);
  });
});

describe('when a stage is next', () => {
  it('hands a sandboxed stage to the edge, with no event', () => {
    spec
      .given([acquired(), started(), passed('source_policy')])
      .when(advance())
      .thenDecides({ events: [], effects: [{ kind: 'run_stage', stage: 'format_gate' }] });
  });

  it('records a stage outcome from its worker, caused by the run’s last event', () => {
    const history = [acquired(), started(), passed('source_policy')];
    const outcome = {
      passed: false,
      reasonCode: 'worker_timeout',
      detail: 'killed after 1 s',
      result: {},
      isolation,
      durationMs: 1000,
    };
    const [event] = spec
      .given(history)
      .when({ type: 'RecordStage', stage: 'format_gate', outcome })
      .then([
        {
          type: 'quarantine.stage.failed',
          data: {
            stage: 'format_gate',
            reasonCode: 'worker_timeout',
            reason: 'killed after 1 s',
            failureClass: 'timeout',
            result: {},
            durationMs: 1000,
            isolation,
          },
          meta: { causationId: lastId(history), correlationId: 'run-1' },
        },
      ]).events;
    valid(event!);
  });

  it('refuses an outcome for a stage that is not next (recorded meanwhile, or out of order)', () => {
    spec
      .given([acquired(), started(), passed('source_policy'), passed('format_gate')])
      .when({
        type: 'RecordStage',
        stage: 'format_gate',
        outcome: {
          passed: true,
          reasonCode: 'gguf_ok',
          detail: '',
          result: {},
          isolation,
          durationMs: 1,
        },
      })
      .thenRefuses('stage_not_expected', []);
  });

  it('fails the next stage when the policy changed since the run started', () => {
    const history = [acquired(), started(), passed('source_policy')];
    spec
      .given(history)
      .when(advance({ digest: `sha256:${'f'.repeat(64)}`, policyDigest: ENGINE_POLICY }))
      .then([
        {
          type: 'quarantine.stage.failed',
          data: {
            stage: 'format_gate',
            reasonCode: 'policy_changed',
            reason: 'the policy changed during the run; import the artifact again',
            result: {},
            durationMs: 0,
            isolation: NO_WORKER,
          },
          meta: { causationId: lastId(history), correlationId: 'run-1' },
        },
      ]);
  });

  it('fails the next stage when no policy is active any more', () => {
    spec
      .given([acquired(), started()])
      .when(advance(null))
      .then([
        expect.objectContaining({
          type: 'quarantine.stage.failed',
          data: expect.objectContaining({ reasonCode: 'policy_unavailable' }) as unknown,
        }) as ArtifactEvent,
      ]);
  });
});

describe('the source policy', () => {
  const url = 'https://huggingface.co/org/model/resolve/abc/model.gguf';
  const remote = () => [acquired({ source: { via: 'airlock', url } }), started()];

  it('passes a local import without a question to the engine', () => {
    const history = [acquired(), started()];
    spec
      .given(history)
      .when(advance())
      .then([
        {
          type: 'quarantine.stage.passed',
          data: {
            stage: 'source_policy',
            reasonCode: 'local_import',
            result: { source: 'local' },
            durationMs: 0,
            isolation: NO_WORKER,
          },
          meta: { causationId: lastId(history), correlationId: 'run-1' },
        },
      ]);
  });

  it('asks the policy engine the model_source question for a source URL', () => {
    spec
      .given(remote())
      .when(advance())
      .thenEffects([
        {
          kind: 'ask_policy_engine',
          stage: 'source_policy',
          request: { domain: 'model_source', subject: url },
        },
      ]);
  });

  it('passes on the engine’s allow, citing the recorded decision as causation and evidence', () => {
    const [event] = spec
      .given(remote())
      .when(answer('allow', 'source.allowlisted'))
      .then([
        {
          type: 'quarantine.stage.passed',
          data: {
            stage: 'source_policy',
            reasonCode: 'source.allowlisted',
            result: {
              decision: 'allow',
              decision_id: 'decision-7',
              rule_id: 'source.allowlisted',
              engine_policy_digest: ENGINE_POLICY,
            },
            durationMs: 0,
            isolation: NO_WORKER,
          },
          meta: { causationId: 'decision-7', correlationId: 'run-1' },
        },
      ]).events;
    valid(event!);
  });

  it('fails on the engine’s deny with the rule as reason', () => {
    const [event] = spec
      .given(remote())
      .when(answer('deny', 'source.not_allowlisted'))
      .then([
        {
          type: 'quarantine.stage.failed',
          data: {
            stage: 'source_policy',
            reasonCode: 'source.not_allowlisted',
            reason: 'no match',
            result: {
              decision: 'deny',
              decision_id: 'decision-7',
              rule_id: 'source.not_allowlisted',
              engine_policy_digest: ENGINE_POLICY,
            },
            durationMs: 0,
            isolation: NO_WORKER,
          },
          meta: { causationId: 'decision-7', correlationId: 'run-1' },
        },
      ]).events;
    valid(event!);
  });

  it('fails closed when the engine did not answer, or judged under another policy', () => {
    const reasonOf = (c: RunCommand) =>
      (
        spec
          .given(remote())
          .when(c)
          .then([expect.anything() as ArtifactEvent]).events[0]!
          .data as EventData<'quarantine.stage.failed'>
      ).reasonCode;
    expect(
      reasonOf({
        type: 'RecordSourceDecision',
        policy: POLICY,
        answer: { ok: false, code: 'POLICY_UNAVAILABLE', message: 'no answer' },
      }),
    ).toBe('policy_unavailable');
    expect(
      reasonOf(
        answer('allow', 'source.allowlisted', {
          evidence: {
            domain: 'model_source',
            ruleId: 'source.allowlisted',
            policyDigest: `sha256:${'9'.repeat(64)}`,
            inputDigest: `sha256:${'d'.repeat(64)}`,
            evaluatedAt: NOW.toISOString(),
            durationMicros: 1,
            trace: [],
          },
        }),
      ),
    ).toBe('policy_changed');
    expect(reasonOf(answer('allow', 'source.allowlisted', { eventId: null }))).toBe(
      'decision_not_recorded',
    );
  });

  it('refuses an answer once the stage was recorded', () => {
    spec
      .given([...remote(), passed('source_policy')])
      .when(answer('allow', 'source.allowlisted'))
      .thenRefuses('stage_not_expected', []);
  });
});

describe('when every stage passed', () => {
  it('completes with the whole result for the promotion decision', () => {
    const history = ggufRun();
    const [event] = spec
      .given(history)
      .when(advance())
      .then([
        {
          type: 'quarantine.completed',
          data: {
            passed: true,
            reasonCode: 'all_stages_passed',
            format: 'gguf',
            sizeBytes: 1234,
            signer: 'release-key',
            failedStage: null,
            stages: planFor('file', true).map((stage) => ({
              stage,
              passed: true,
              reasonCode: `${stage}_ok`,
              durationMs: 5,
            })),
            behavioralScore: { score: 0.05, flagged: 2, critical: 0, totalPrompts: 44 },
            provenance: 'signature-verified',
            pin: 'first_use',
            policyDigest: BUNDLE,
            durationMs: NOW.getTime() - Date.parse(history[1]!.meta.time!),
          },
          meta: { causationId: lastId(history), correlationId: 'run-1' },
        },
      ]).events;
    valid(event!);
  });
});

describe('when a stage failed', () => {
  it('rejects the model naming the stage, with no decision, and discards its bytes', () => {
    const history = [acquired(), started(), passed('source_policy'), failed('format_gate', 'gap')];
    spec
      .given(history)
      .when(advance())
      .thenDecides({
        events: [
          {
            type: 'model.rejected',
            data: {
              decisionId: null,
              name: 'tiny.gguf',
              stage: 'format_gate',
              reasonCode: 'gap',
              reason: 'format_gate failed: no',
            },
            meta: { causationId: lastId(history), correlationId: 'run-1' },
          },
        ],
        effects: [{ kind: 'discard' }],
      });
  });

  it('a rejected artifact acquired again gets a new run as attempt 2', () => {
    const rejected = stored('model.rejected', {
      decisionId: null,
      name: 'tiny.gguf',
      stage: 'source_policy',
      reasonCode: 'source.not_allowlisted',
      reason: 'no',
    });
    const history = [
      acquired(),
      started(),
      failed('source_policy', 'source.not_allowlisted'),
      rejected,
    ];
    spec
      .given(history)
      .when({ type: 'Acquire', data: acquiredData() })
      .then([expect.objectContaining({ type: 'model.acquired' }) as ArtifactEvent]);
    spec
      .given([...history, acquired()])
      .when(advance())
      .then([
        expect.objectContaining({
          data: expect.objectContaining({ attempt: 2 }) as unknown,
        }) as ArtifactEvent,
      ]);
  });
});

describe('when awaiting the promotion decision', () => {
  const awaiting = () => {
    const history = ggufRun();
    const completed = spec
      .given(history)
      .when(advance())
      .then([expect.anything() as ArtifactEvent]).events[0]!;
    const stored_ = stored(
      'quarantine.completed',
      completed.data as EventData<'quarantine.completed'>,
    );
    return { history: [...history, stored_], completedId: stored_.meta.id! };
  };
  const settle = (decision: 'allow' | 'deny', causationId: string): RunCommand => ({
    type: 'Settle',
    decision: {
      id: 'decision-1',
      causationId,
      data: {
        decision,
        reason: decision === 'allow' ? 'all checks passed' : 'behavioural score too high',
        evidence: {
          ruleId: decision === 'allow' ? 'models.promotion_allowed' : 'models.behavior_score',
        },
      } as EventData<'policy.decided'>,
    },
  });

  it('waits: advancing does nothing', () => {
    const { history } = awaiting();
    spec.given(history).when(advance()).thenDecides({ events: [], outcome: 'await_decision' });
  });

  it('promotes on an allow answering this run, under its display name', () => {
    const { history, completedId } = awaiting();
    const [event] = spec
      .given(history)
      .when(settle('allow', completedId))
      .then([
        {
          type: 'model.promoted',
          data: {
            decisionId: 'decision-1',
            name: 'Tiny Llama',
            fileName: 'tiny.gguf',
            format: 'gguf',
            digest: `sha256:${HEX}`,
            sizeBytes: 1234,
            policyDigest: BUNDLE,
          },
          meta: { causationId: 'decision-1', correlationId: 'run-1' },
        },
      ]).events;
    valid(event!);
  });

  it('rejects on a deny with the rule as reason code, and discards the bytes', () => {
    const { history, completedId } = awaiting();
    spec
      .given(history)
      .when(settle('deny', completedId))
      .thenDecides({
        events: [
          {
            type: 'model.rejected',
            data: {
              decisionId: 'decision-1',
              name: 'tiny.gguf',
              stage: null,
              reasonCode: 'models.behavior_score',
              reason: 'promotion denied: behavioural score too high',
            },
            meta: { causationId: 'decision-1', correlationId: 'run-1' },
          },
        ],
        effects: [{ kind: 'discard' }],
      });
  });

  it('ignores a decision that answers another event (an old run, a duplicate)', () => {
    const { history } = awaiting();
    spec.given(history).when(settle('allow', 'someone-else')).thenNothingHappened();
  });

  it('ignores a decision once the run has ended, and refuses to acquire it again', () => {
    const { history, completedId } = awaiting();
    const promoted = stored('model.promoted', {
      decisionId: 'decision-1',
      name: 'Tiny Llama',
      fileName: 'tiny.gguf',
      format: 'gguf',
      digest: `sha256:${HEX}`,
      sizeBytes: 1234,
      policyDigest: BUNDLE,
    });
    spec
      .given([...history, promoted])
      .when(settle('allow', completedId))
      .thenNothingHappened();
    spec
      .given([...history, promoted])
      .when({ type: 'Acquire', data: acquiredData() })
      .thenRefuses('already_promoted', []);
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

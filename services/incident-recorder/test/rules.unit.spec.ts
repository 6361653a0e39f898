import { beforeAll, describe, expect, it } from 'vitest';
import { IllegalStateError, type CloudEvent, type EventData } from '@secai/contracts';
import { deciderSpec } from '@secai/contracts/testing';
import {
  bindingOf,
  classify,
  defaultIncidentPolicy,
  escalationFor,
  incidentDecider,
  incidentIdFor,
  incidentSelection,
  initialBurstState,
  observeDecision,
  replayIncident,
  stateOf,
  uuidV7Time,
  type AttestationFact,
  type IncidentCommand,
  type IncidentDraft,
  type IncidentEvent,
  type IncidentPolicy,
  type Observation,
  type ObservedEvent,
} from '../src/index.js';

let policy: IncidentPolicy;
beforeAll(async () => {
  policy = (await defaultIncidentPolicy()).policy;
});

const HEX = 'ab'.repeat(32);
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function observed(
  type: string,
  subject: string,
  data: unknown,
  id = 'evt-1',
  s = 0,
): ObservedEvent {
  return {
    id,
    type,
    source: `secai://${type.startsWith('integrity') ? 'integrity-monitor' : type.startsWith('attestation') ? 'runtime-attestor' : type.startsWith('policy') ? 'policy-engine' : 'registry'}`,
    subject,
    time: at(s),
    correlationId: `corr-${id}`,
    data,
  };
}

const violation = (
  path: string,
  pathClass: EventData<'integrity.violation.detected'>['pathClass'] = 'model_file',
  severity: EventData<'integrity.violation.detected'>['severity'] = 'high',
): EventData<'integrity.violation.detected'> => ({
  pathClass,
  path,
  kind: 'modified',
  expected: `sha256:${'0'.repeat(64)}`,
  actual: `sha256:${'1'.repeat(64)}`,
  severity,
});

const modelPath = `/var/lib/secai/registry/store/sha256/${HEX}/tiny.gguf`;

function observation(over: Partial<Observation> = {}): Observation {
  return {
    class: 'manifest_mismatch',
    severity: 'high',
    subject: `model/${HEX}`,
    reportedBy: 'integrity-monitor',
    description: 'model file modified',
    causeId: 'obs-1',
    causeIds: ['obs-1'],
    time: at(0),
    correlationId: 'corr-1',
    ...over,
  };
}

// ---- given/when/then over the machine-backed decider ----------------------------------------

const spec = deciderSpec(incidentDecider);

/** Stored events from drafts: ids, sequences and times as the edge would stamp them. */
function stamp(drafts: IncidentDraft[], from = 1, seconds = 0): IncidentEvent[] {
  return drafts.map(
    (d, i) =>
      ({
        type: d.type,
        data: d.data,
        id: `inc-evt-${from + i}`,
        seq: from + i,
        time: at(seconds + i),
      }) as IncidentEvent,
  );
}

/** An incident's stored history, batch after batch (one append each); the machine accepts all. */
function history(...batches: IncidentDraft[][]): IncidentEvent[] {
  let seq = 1;
  const events: IncidentEvent[] = [];
  for (const batch of batches) {
    events.push(...stamp(batch, seq, seq));
    seq += batch.length;
  }
  expect(replayIncident(events).ignored).toEqual([]);
  return events;
}

const given = (...batches: IncidentDraft[][]) => spec.given(history(...batches));
const snapshotAfter = (...batches: IncidentDraft[][]) =>
  replayIncident(history(...batches)).snapshot;

/** What a command records after `batches`, refusing nothing: the next batch of a history. */
function step(batches: IncidentDraft[][], command: IncidentCommand): IncidentDraft[] {
  const decision = incidentDecider.decide(command, snapshotAfter(...batches));
  expect(decision.refusal).toBeUndefined();
  return decision.events;
}

const ID = 'INC-20260301-100000-abcdefabcdef';
const open = (o = observation(), rule = () => policy.classes[o.class]) =>
  step([], { type: 'open', incidentId: ID, observation: o, rule: rule() });
const attach = (o: Observation, now: string): IncidentCommand => ({
  type: 'attach',
  observation: o,
  escalation: policy.escalation,
  now,
});
const complete = (action: string, target: string, ok: boolean, detail = 'done'): IncidentCommand =>
  ({ type: 'complete_action', action, target, ok, detail, durationMs: 12 }) as IncidentCommand;
const resolveWith = (
  attestation: AttestationFact | null,
  operator = 'alice',
): Extract<IncidentCommand, { type: 'resolve' }> => ({
  type: 'resolve',
  operator,
  note: 'restored from backup',
  rule: policy.classes.manifest_mismatch,
  ceremony: policy.ceremony,
  attestation,
});
const acknowledge: IncidentCommand = { type: 'acknowledge', operator: 'bob', note: '' };
const verifiedAt = (seq: number): AttestationFact => ({
  eventId: `att-${seq}`,
  seq,
  policySatisfied: true,
  mode: 'software',
  evidenceVerified: false,
});

describe('classifier', () => {
  it('a modified model file in the store is a manifest_mismatch about that model', () => {
    const o = classify(
      observed('integrity.violation.detected', 'integrity/model_file', violation(modelPath)),
      policy,
    );
    expect(o).toMatchObject({
      class: 'manifest_mismatch',
      severity: 'high',
      subject: `model/${HEX}`,
      reportedBy: 'integrity-monitor',
      causeId: 'evt-1',
      causeIds: ['evt-1'],
    });
    expect(o!.description).toContain(modelPath);
  });

  it('other path classes are integrity_violation on the path class; reported severity can only raise', () => {
    const o = classify(
      observed(
        'integrity.violation.detected',
        'integrity/service_binary',
        violation('/usr/libexec/secai/registry', 'service_binary', 'low'),
      ),
      policy,
    );
    expect(o).toMatchObject({
      class: 'integrity_violation',
      severity: 'critical',
      subject: 'integrity/service_binary',
    });
  });

  it('a degraded attestation is an attestation_failure at high, a failed one critical', () => {
    const data = {
      host: 'appliance',
      mode: 'software',
      nonce: '0'.repeat(64),
      requestedBy: null,
      quoteDigest: null,
      pcrDigest: null,
      deploymentDigest: null,
      bundleDigest: `sha256:${'2'.repeat(64)}`,
      checks: {
        secureBoot: false,
        tpmAvailable: false,
        quoteVerified: false,
        measurementsVerified: false,
        deploymentVerified: false,
        releaseBaselineVerified: false,
      },
      evidenceVerified: false,
      policySatisfied: false,
      reasons: ['tpm missing'],
    };
    expect(
      classify(observed('attestation.degraded', 'attestation/appliance', data), policy),
    ).toMatchObject({
      class: 'attestation_failure',
      severity: 'high',
      subject: 'attestation/appliance',
    });
    expect(
      classify(observed('attestation.failed', 'attestation/appliance', data), policy),
    ).toMatchObject({
      severity: 'critical',
    });
  });

  it('a refused envelope is unauthorized_access about the identity it claimed', () => {
    const data: EventData<'security.envelope.rejected'> = {
      consumer: 'registry-promotion',
      code: 'KEY_UNKNOWN',
      reason: 'unknown key',
      natsSubject: 'secai.evt.artifact.x',
      streamSeq: 7,
      envelopeDigest: `sha256:${'3'.repeat(64)}`,
      claimed: { source: 'secai://quarantine', type: 'model.promoted' },
    };
    expect(
      classify(observed('security.envelope.rejected', 'service/registry', data), policy),
    ).toMatchObject({
      class: 'unauthorized_access',
      severity: 'critical',
      subject: 'service/quarantine',
    });
  });

  it('an observation kind set to null in policy opens nothing', () => {
    const quiet: IncidentPolicy = {
      ...policy,
      observations: { ...policy.observations, model_file_violation: null },
    };
    expect(
      classify(
        observed('integrity.violation.detected', 'integrity/model_file', violation(modelPath)),
        quiet,
      ),
    ).toBeNull();
  });
});

describe('denial bursts', () => {
  const decided = (
    i: number,
    s: number,
    subject = `sha256:${'4'.repeat(64)}`,
    caller = 'tool-firewall',
  ) =>
    observed(
      'policy.decided',
      'decision/tool_access',
      {
        caller,
        domain: 'tool_access',
        subject: { digest: subject, redacted: 'shell.exec' },
        input: '{}',
        decision: 'deny',
        reason: 'denied',
        evidence: {
          domain: 'tool_access',
          ruleId: 'tools.deny.shell_exec',
          policyDigest: null,
          inputDigest: `sha256:${'5'.repeat(64)}`,
          evaluatedAt: at(s),
          durationMicros: 3,
          trace: [],
        },
      },
      `deny-${i}`,
      s,
    );

  it('given three denials of the same request within 300 s, the third is a policy_bypass_attempt', () => {
    const state = initialBurstState();
    expect(observeDecision(state, decided(1, 0), policy)).toEqual([]);
    expect(observeDecision(state, decided(2, 100), policy)).toEqual([]);
    const [o] = observeDecision(state, decided(3, 200), policy);
    expect(o).toMatchObject({
      class: 'policy_bypass_attempt',
      subject: 'service/tool-firewall',
      causeId: 'deny-3',
      causeIds: ['deny-1', 'deny-2', 'deny-3'],
    });
  });

  it('denials outside the window do not count, nor do allowed decisions or excluded callers', () => {
    const state = initialBurstState();
    observeDecision(state, decided(1, 0), policy);
    observeDecision(state, decided(2, 100), policy);
    expect(observeDecision(state, decided(3, 400), policy)).toEqual([]);
    const cli = initialBurstState();
    for (let i = 0; i < 5; i++)
      expect(observeDecision(cli, decided(i, i, undefined, 'cli'), policy)).toEqual([]);
  });

  it('ten denials of different tools from one caller within 60 s are a tool_call_burst', () => {
    const state = initialBurstState();
    const out: Observation[] = [];
    for (let i = 0; i < 10; i++)
      out.push(...observeDecision(state, decided(i, i, `sha256:${String(i).repeat(64)}`), policy));
    expect(out.map((o) => o.class)).toEqual(['tool_call_burst']);
    expect(out[0]!.causeIds).toHaveLength(10);
  });
});

describe('incident lifecycle', () => {
  describe('when an observation opens an incident', () => {
    it('records incident.opened and the class containment, each action aimed at its owner', () => {
      spec
        .given([])
        .when({
          type: 'open',
          incidentId: ID,
          observation: observation(),
          rule: policy.classes.manifest_mismatch,
        })
        .thenDecides({
          outcome: 'opened',
          events: [
            {
              type: 'incident.opened',
              aggregateId: ID,
              data: {
                incidentId: ID,
                class: 'manifest_mismatch',
                severity: 'high',
                subject: `model/${HEX}`,
                reportedBy: 'integrity-monitor',
                causeEventIds: ['obs-1'],
                description: 'model file modified',
              },
            },
            {
              type: 'incident.containment.requested',
              aggregateId: ID,
              data: {
                incidentId: ID,
                actions: [
                  { action: 'quarantine_model', target: `model/${HEX}` },
                  { action: 'freeze_agent', target: 'agent/state' },
                ],
              },
            },
          ],
        });
    });

    it('requests nothing for a class that is not auto-contained', () => {
      const events = open(observation({ class: 'forbidden_airlock_request', subject: 'egress/x' }));
      expect(events.map((e) => e.type)).toEqual(['incident.opened']);
    });

    it('names the same incident for the same observation (a redelivery finds it)', () => {
      expect(incidentIdFor(observation())).toBe(incidentIdFor(observation()));
      expect(incidentIdFor(observation())).toMatch(/^INC-20260301-100000-[0-9a-f]{12}$/);
      expect(incidentIdFor(observation(), 1)).not.toBe(incidentIdFor(observation()));
      given(open())
        .when({
          type: 'open',
          incidentId: ID,
          observation: observation(),
          rule: policy.classes.manifest_mismatch,
        })
        .thenDecides({ events: [], outcome: 'duplicate' });
    });

    it('refuses to open an incident whose id is taken by another observation (a collision)', () => {
      given(open())
        .when({
          type: 'open',
          incidentId: ID,
          observation: observation({ causeId: 'other', causeIds: ['other'] }),
          rule: policy.classes.manifest_mismatch,
        })
        .thenRefuses('incident_exists', []);
    });

    it('an observation attaches only to an incident that exists (a broken invariant)', () => {
      spec
        .given([])
        .when(attach(observation(), at(1)))
        .thenThrows(IllegalStateError);
    });
  });

  describe('when further observations of the same class and subject arrive', () => {
    it('attaches them, counted, and ignores a redelivered one', () => {
      const attached = given(open())
        .when(attach(observation({ causeId: 'obs-2' }), at(5)))
        .thenDecides({
          outcome: 'attached',
          events: [
            {
              type: 'incident.observation.attached',
              aggregateId: ID,
              data: { incidentId: ID, causeEventId: 'obs-2', count: 2 },
            },
          ],
        }).events;
      given(open(), attached)
        .when(attach(observation({ causeId: 'obs-2' }), at(6)))
        .thenDecides({ events: [], outcome: 'duplicate' });
    });

    it('escalates when a window rule is reached, only upward and once', () => {
      const o = (n: number) =>
        observation({
          class: 'prompt_injection',
          subject: 'session/s1',
          causeId: `o${n}`,
          causeIds: [`o${n}`],
        });
      const attached = (count: number, n: number): IncidentDraft => ({
        type: 'incident.observation.attached',
        aggregateId: ID,
        data: { incidentId: ID, causeEventId: `o${n}`, count },
      });
      const opened = open(o(1));
      const a2 = given(opened)
        .when(attach(o(2), at(30)))
        .then([attached(2, 2)]).events;
      const a3 = given(opened, a2)
        .when(attach(o(3), at(60)))
        .thenDecides({
          outcome: 'escalated',
          events: [
            attached(3, 3),
            {
              type: 'incident.escalated',
              aggregateId: ID,
              data: {
                incidentId: ID,
                from: 'high',
                to: 'critical',
                rule: { id: 'prompt_injection.repeated', threshold: 3, windowSeconds: 300 },
                observationCount: 3,
              },
            },
          ],
        }).events;
      given(opened, a2, a3)
        .when(attach(o(4), at(70)))
        .then([attached(4, 4)]);
    });

    it('does not escalate on observations spread beyond the window', () => {
      const ctx = snapshotAfter(
        open(observation({ class: 'prompt_injection', subject: 'session/s1' })),
      ).context;
      const late = escalationFor(
        { ...ctx, observedAt: [at(0), at(100)] },
        observation({ class: 'prompt_injection' }),
        policy.escalation,
        at(400),
      );
      expect(late).toBeNull();
    });

    it('an observation reported at a higher severity raises the incident to it', () => {
      given(open())
        .when(attach(observation({ causeId: 'obs-9', severity: 'critical' }), at(3)))
        .thenDecides({
          outcome: 'escalated',
          events: [
            {
              type: 'incident.observation.attached',
              aggregateId: ID,
              data: { incidentId: ID, causeEventId: 'obs-9', count: 2 },
            },
            {
              type: 'incident.escalated',
              aggregateId: ID,
              data: {
                incidentId: ID,
                from: 'high',
                to: 'critical',
                rule: { id: 'observed_severity', threshold: 1, windowSeconds: 1 },
                observationCount: 1,
              },
            },
          ],
        });
    });

    it('refuses to attach to a resolved incident (the recorder opens a new one)', () => {
      const o = observation({
        class: 'forbidden_airlock_request',
        severity: 'medium',
        subject: 'egress/x',
      });
      const opened = open(o);
      const resolved = step([opened], {
        ...resolveWith(null),
        rule: policy.classes.forbidden_airlock_request,
      });
      given(opened, resolved)
        .when(attach(observation({ ...o, causeId: 'later' }), at(9)))
        .thenRefuses('incident_closed', []);
    });
  });

  describe('when containment actions complete', () => {
    const target = `model/${HEX}`;
    const completed = (action: string, target: string, ok: boolean, detail = 'done') =>
      ({
        type: 'incident.containment.action.completed',
        aggregateId: ID,
        data: { incidentId: ID, action, target, ok, detail, durationMs: 12 },
      }) as IncidentDraft;

    it('records each result, then incident.contained once every action succeeded', () => {
      const first = given(open())
        .when(complete('quarantine_model', target, true))
        .thenDecides({
          events: [completed('quarantine_model', target, true)],
          outcome: 'action_completed',
        }).events;
      const last = given(open(), first)
        .when(complete('freeze_agent', 'agent/state', true))
        .thenDecides({
          outcome: 'contained',
          events: [
            completed('freeze_agent', 'agent/state', true),
            {
              type: 'incident.contained',
              aggregateId: ID,
              data: { incidentId: ID, actions: ['quarantine_model', 'freeze_agent'] },
            },
          ],
        }).events;
      expect(stateOf(snapshotAfter(open(), first, last))).toBe('contained');
    });

    it('ends in incident.containment.failed when any action failed (a missing target fails closed)', () => {
      const first = given(open())
        .when(complete('quarantine_model', target, true))
        .then([completed('quarantine_model', target, true)]).events;
      const detail = 'no valid answer within 10000 ms';
      const last = given(open(), first)
        .when(complete('freeze_agent', 'agent/state', false, detail))
        .thenDecides({
          outcome: 'containment_failed',
          events: [
            completed('freeze_agent', 'agent/state', false, detail),
            {
              type: 'incident.containment.failed',
              aggregateId: ID,
              data: {
                incidentId: ID,
                failed: [{ action: 'freeze_agent', target: 'agent/state', detail }],
                succeeded: ['quarantine_model'],
              },
            },
          ],
        }).events;
      expect(stateOf(snapshotAfter(open(), first, last))).toBe('containment_failed');
    });

    it('never records an action twice (a result after a restart is ignored)', () => {
      const first = given(open())
        .when(complete('quarantine_model', target, true))
        .then([completed('quarantine_model', target, true)]).events;
      given(open(), first)
        .when(complete('quarantine_model', target, true))
        .thenDecides({ events: [], outcome: 'not_pending' });
    });
  });

  describe('the recovery ceremony', () => {
    const target = `model/${HEX}`;
    const contained = () => {
      const a = step([open()], complete('quarantine_model', target, true));
      const b = step([open(), a], complete('freeze_agent', 'agent/state', true));
      return [open(), a, b];
    };

    it('refuses to resolve while containment runs', () => {
      given(open())
        .when(resolveWith(verifiedAt(99)))
        .thenRefuses('containment_in_progress', []);
    });

    it('refuses to resolve a latched incident without a fresh attestation.verified', () => {
      const g = given(...contained());
      g.when(resolveWith(null)).thenRefuses('reattestation_required', []);
      // Stored before the containment finished: it does not count.
      g.when(resolveWith(verifiedAt(2))).thenRefuses('reattestation_required', []);
      g.when(resolveWith({ ...verifiedAt(99), policySatisfied: false })).thenRefuses(
        'reattestation_required',
        [],
      );
    });

    it('with require_hardware_attestation, only verified hardware evidence counts', () => {
      const batches = contained();
      const g = given(...batches);
      const strict = {
        ...resolveWith(verifiedAt(99)),
        ceremony: { ...policy.ceremony, requireHardwareAttestation: true },
      } as Extract<IncidentCommand, { type: 'resolve' }>;
      g.when(strict).thenRefuses('reattestation_required', []);
      const hw = { ...verifiedAt(99), mode: 'hardware' as const, evidenceVerified: true };
      g.when({ ...strict, attestation: hw }).then([
        {
          type: 'incident.resolved',
          aggregateId: ID,
          data: {
            incidentId: ID,
            operator: 'alice',
            note: 'restored from backup',
            ceremony: {
              binding: bindingOf(snapshotAfter(...batches).context),
              reattestRequired: true,
              attestationEventId: 'att-99',
            },
          },
        },
      ]);
    });

    it('resolves once the ceremony holds, bound to the incident as it stands, then acknowledges', () => {
      const batches = contained();
      const resolved = given(...batches)
        .when(resolveWith(verifiedAt(99)))
        .thenDecides({
          outcome: 'resolved',
          events: [
            {
              type: 'incident.resolved',
              aggregateId: ID,
              data: {
                incidentId: ID,
                operator: 'alice',
                note: 'restored from backup',
                ceremony: {
                  binding: bindingOf(snapshotAfter(...batches).context),
                  reattestRequired: true,
                  attestationEventId: 'att-99',
                },
              },
            },
          ],
        }).events;
      expect(stateOf(snapshotAfter(...batches, resolved))).toBe('resolved');
      const acked = given(...batches, resolved)
        .when(acknowledge)
        .thenDecides({
          outcome: 'acknowledged',
          events: [
            {
              type: 'incident.acknowledged',
              aggregateId: ID,
              data: {
                incidentId: ID,
                operator: 'bob',
                note: '',
                ceremony: {
                  binding: bindingOf(snapshotAfter(...batches).context),
                  reattestRequired: true,
                  attestationEventId: 'att-99',
                },
              },
            },
          ],
        }).events;
      expect(stateOf(snapshotAfter(...batches, resolved, acked))).toBe('acknowledged');
      given(...batches, resolved, acked)
        .when(acknowledge)
        .thenDecides({ events: [], outcome: 'already_acknowledged' });
      given(...batches, resolved, acked)
        .when(resolveWith(verifiedAt(99)))
        .thenDecides({ events: [], outcome: 'already_resolved' });
    });

    it('refuses an acknowledgement before the resolution, and an unnamed operator', () => {
      const g = given(...contained());
      g.when(acknowledge).thenRefuses('not_resolved', []);
      g.when(resolveWith(verifiedAt(99), ' ')).thenRefuses('operator_invalid', []);
    });

    it('refuses to resolve or acknowledge an incident that does not exist', () => {
      spec
        .given([])
        .when(resolveWith(verifiedAt(99)))
        .thenRefuses('incident_unknown', []);
      spec.given([]).when(acknowledge).thenRefuses('incident_unknown', []);
    });

    it('a non-latched, non-critical incident resolves without re-attestation', () => {
      const o = observation({
        class: 'tool_call_burst',
        severity: 'medium',
        subject: 'service/agent',
      });
      const opened = open(o);
      const c = step([opened], complete('freeze_agent', 'agent/state', true));
      const events = step([opened, c], {
        ...resolveWith(null),
        rule: policy.classes.tool_call_burst,
      });
      expect(events[0]).toMatchObject({
        data: { ceremony: { reattestRequired: false, attestationEventId: null } },
      });
    });
  });

  describe('replaying a stored history', () => {
    it('refuses what the lifecycle cannot contain, and reports it', () => {
      const events = stamp(open());
      const bogusContained = stamp(
        [{ type: 'incident.contained', aggregateId: ID, data: { incidentId: ID, actions: [] } }],
        3,
      );
      const bogusAck = stamp(
        [
          {
            type: 'incident.acknowledged',
            aggregateId: ID,
            data: {
              incidentId: ID,
              operator: 'x',
              note: '',
              ceremony: {
                binding: `sha256:${'0'.repeat(64)}`,
                reattestRequired: true,
                attestationEventId: 'a',
              },
            },
          },
        ],
        4,
      );
      const { snapshot, ignored } = replayIncident([...events, ...bogusContained, ...bogusAck]);
      expect(stateOf(snapshot)).toBe('open');
      expect(ignored.map((e) => e.type)).toEqual(['incident.contained', 'incident.acknowledged']);
    });

    it('replays from a snapshot the events follow as from the beginning', () => {
      const opened = stamp(open());
      const attached = stamp(
        [
          {
            type: 'incident.observation.attached',
            aggregateId: ID,
            data: { incidentId: ID, causeEventId: 'obs-2', count: 2 },
          },
        ],
        3,
      );
      const whole = replayIncident([...opened, ...attached]);
      const stepwise = replayIncident(attached, replayIncident(opened).snapshot);
      expect(stepwise.snapshot.context).toEqual(whole.snapshot.context);
      expect(stepwise.snapshot.value).toBe(whole.snapshot.value);
    });

    it('a resolution whose binding no longer matches (escalated afterwards) is refused', () => {
      const o = observation({
        class: 'forbidden_airlock_request',
        severity: 'medium',
        subject: 'egress/x',
      });
      const opened = open(o);
      const resolved = step([opened], {
        ...resolveWith(null),
        rule: policy.classes.forbidden_airlock_request,
      });
      const escalated: IncidentDraft[] = [
        {
          type: 'incident.escalated',
          aggregateId: ID,
          data: {
            incidentId: ID,
            from: 'medium',
            to: 'high',
            rule: { id: 'x', threshold: 1, windowSeconds: 1 },
            observationCount: 1,
          },
        },
      ];
      const { ignored } = replayIncident([
        ...stamp(opened),
        ...stamp(escalated, 2),
        ...stamp(resolved, 3),
      ]);
      expect(ignored.map((e) => e.type)).toEqual(['incident.resolved']);
    });
  });
});

describe('export selection', () => {
  const ev = (
    id: string,
    seq: number,
    type: string,
    subject: string,
    data: unknown,
    causationid?: string,
  ) =>
    [
      id,
      {
        seq,
        event: { id, type, subject, data, ...(causationid ? { causationid } : {}) } as CloudEvent,
      },
    ] as const;

  it('follows causation links and the ids incident events carry, and takes the target events naming it', () => {
    const index = new Map([
      ev('noise-1', 1, 'service.started', 'service/registry', {}),
      ev('obs-1', 2, 'integrity.violation.detected', 'integrity/model_file', {}, 'scan-req'),
      ev('noise-2', 3, 'policy.decided', 'decision/tool_access', {}),
      ev(
        'open-1',
        4,
        'incident.opened',
        `incident/${ID}`,
        { incidentId: ID, causeEventIds: ['obs-1'] },
        'obs-1',
      ),
      ev(
        'req-1',
        5,
        'incident.containment.requested',
        `incident/${ID}`,
        { incidentId: ID },
        'open-1',
      ),
      ev(
        'contained-m',
        6,
        'model.contained',
        `model/${HEX}`,
        { cause: { kind: 'incident', incidentId: ID } },
        'cmd-1',
      ),
      ev('other-m', 7, 'model.contained', `model/${HEX}`, {
        cause: { kind: 'incident', incidentId: 'INC-other' },
      }),
      ev(
        'done-1',
        8,
        'incident.containment.action.completed',
        `incident/${ID}`,
        { incidentId: ID },
        'contained-m',
      ),
      ev('att-1', 9, 'attestation.verified', 'attestation/appliance', {}),
      ev(
        'res-1',
        10,
        'incident.resolved',
        `incident/${ID}`,
        { incidentId: ID, ceremony: { attestationEventId: 'att-1' } },
        'cmd-2',
      ),
    ]);
    expect(incidentSelection(ID, index)).toEqual({ seqs: [2, 4, 5, 6, 8, 9, 10], missing: [] });
  });

  it('reads the time of a UUIDv7 id', () => {
    expect(uuidV7Time('0195a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b')).toBe(0x0195a3b45c6d);
    expect(uuidV7Time('evt-1')).toBeNull();
  });
});

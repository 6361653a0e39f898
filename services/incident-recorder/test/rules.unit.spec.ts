import { beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent, EventData } from '@secai/contracts';
import {
  bindingOf,
  classify,
  decide,
  defaultIncidentPolicy,
  escalationFor,
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

function given(...batches: IncidentDraft[][]) {
  let seq = 1;
  const events: IncidentEvent[] = [];
  for (const batch of batches) {
    events.push(...stamp(batch, seq, seq));
    seq += batch.length;
  }
  const { snapshot, ignored } = replayIncident(events);
  expect(ignored).toEqual([]);
  return {
    snapshot,
    when: (command: IncidentCommand) => decide(command, snapshot),
  };
}

const ID = 'INC-20260301-100000-abcdefabcdef';
const open = (o = observation(), rule = () => policy.classes[o.class]) =>
  decide(
    { type: 'open', incidentId: ID, observation: o, rule: rule() },
    replayIncident([]).snapshot,
  ).events;
const complete = (action: string, target: string, ok: boolean, detail = 'done'): IncidentCommand =>
  ({ type: 'complete_action', action, target, ok, detail, durationMs: 12 }) as IncidentCommand;
const resolveWith = (attestation: AttestationFact | null, operator = 'alice'): IncidentCommand => ({
  type: 'resolve',
  operator,
  note: 'restored from backup',
  rule: policy.classes.manifest_mismatch,
  ceremony: policy.ceremony,
  attestation,
});
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
      expect(open()).toEqual([
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
      ]);
    });

    it('requests nothing for a class that is not auto-contained', () => {
      const events = open(observation({ class: 'forbidden_airlock_request', subject: 'egress/x' }));
      expect(events.map((e) => e.type)).toEqual(['incident.opened']);
    });

    it('names the same incident for the same observation (a redelivery finds it)', () => {
      expect(incidentIdFor(observation())).toBe(incidentIdFor(observation()));
      expect(incidentIdFor(observation())).toMatch(/^INC-20260301-100000-[0-9a-f]{12}$/);
      expect(incidentIdFor(observation(), 1)).not.toBe(incidentIdFor(observation()));
      const g = given(open());
      expect(
        g.when({
          type: 'open',
          incidentId: ID,
          observation: observation(),
          rule: policy.classes.manifest_mismatch,
        }),
      ).toMatchObject({ events: [], reason: 'duplicate' });
      expect(
        g.when({
          type: 'open',
          incidentId: ID,
          observation: observation({ causeId: 'other', causeIds: ['other'] }),
          rule: policy.classes.manifest_mismatch,
        }).refusal?.code,
      ).toBe('incident_exists');
    });
  });

  describe('when further observations of the same class and subject arrive', () => {
    it('attaches them, counted, and ignores a redelivered one', () => {
      const g = given(open());
      const d = g.when({
        type: 'attach',
        observation: observation({ causeId: 'obs-2' }),
        escalation: policy.escalation,
        now: at(5),
      });
      expect(d.events).toEqual([
        {
          type: 'incident.observation.attached',
          aggregateId: ID,
          data: { incidentId: ID, causeEventId: 'obs-2', count: 2 },
        },
      ]);
      expect(
        given(open(), d.events).when({
          type: 'attach',
          observation: observation({ causeId: 'obs-2' }),
          escalation: policy.escalation,
          now: at(6),
        }),
      ).toMatchObject({ events: [], reason: 'duplicate' });
    });

    it('escalates when a window rule is reached, only upward and once', () => {
      const o = (n: number) =>
        observation({
          class: 'prompt_injection',
          subject: 'session/s1',
          causeId: `o${n}`,
          causeIds: [`o${n}`],
        });
      const opened = open(o(1));
      const a2 = given(opened).when({
        type: 'attach',
        observation: o(2),
        escalation: policy.escalation,
        now: at(30),
      });
      expect(a2.events.map((e) => e.type)).toEqual(['incident.observation.attached']);
      const a3 = given(opened, a2.events).when({
        type: 'attach',
        observation: o(3),
        escalation: policy.escalation,
        now: at(60),
      });
      expect(a3.events[1]).toEqual({
        type: 'incident.escalated',
        aggregateId: ID,
        data: {
          incidentId: ID,
          from: 'high',
          to: 'critical',
          rule: { id: 'prompt_injection.repeated', threshold: 3, windowSeconds: 300 },
          observationCount: 3,
        },
      });
      const a4 = given(opened, a2.events, a3.events).when({
        type: 'attach',
        observation: o(4),
        escalation: policy.escalation,
        now: at(70),
      });
      expect(a4.events.map((e) => e.type)).toEqual(['incident.observation.attached']);
    });

    it('does not escalate on observations spread beyond the window', () => {
      const g = given(open(observation({ class: 'prompt_injection', subject: 'session/s1' })));
      const ctx = g.snapshot.context;
      const late = escalationFor(
        { ...ctx, observedAt: [at(0), at(100)] },
        observation({ class: 'prompt_injection' }),
        policy.escalation,
        at(400),
      );
      expect(late).toBeNull();
    });

    it('an observation reported at a higher severity raises the incident to it', () => {
      const d = given(open()).when({
        type: 'attach',
        observation: observation({ causeId: 'obs-9', severity: 'critical' }),
        escalation: policy.escalation,
        now: at(3),
      });
      expect(d.events[1]).toMatchObject({
        type: 'incident.escalated',
        data: { from: 'high', to: 'critical' },
      });
    });
  });

  describe('when containment actions complete', () => {
    const target = `model/${HEX}`;
    it('records each result, then incident.contained once every action succeeded', () => {
      const first = given(open()).when(complete('quarantine_model', target, true));
      expect(first.events.map((e) => e.type)).toEqual(['incident.containment.action.completed']);
      const last = given(open(), first.events).when(complete('freeze_agent', 'agent/state', true));
      expect(last.events.map((e) => e.type)).toEqual([
        'incident.containment.action.completed',
        'incident.contained',
      ]);
      expect(last.events[1]!.data).toEqual({
        incidentId: ID,
        actions: ['quarantine_model', 'freeze_agent'],
      });
      expect(stateOf(given(open(), first.events, last.events).snapshot)).toBe('contained');
    });

    it('ends in incident.containment.failed when any action failed (a missing target fails closed)', () => {
      const first = given(open()).when(complete('quarantine_model', target, true));
      const last = given(open(), first.events).when(
        complete('freeze_agent', 'agent/state', false, 'no valid answer within 10000 ms'),
      );
      expect(last.events[1]).toEqual({
        type: 'incident.containment.failed',
        aggregateId: ID,
        data: {
          incidentId: ID,
          failed: [
            {
              action: 'freeze_agent',
              target: 'agent/state',
              detail: 'no valid answer within 10000 ms',
            },
          ],
          succeeded: ['quarantine_model'],
        },
      });
      expect(stateOf(given(open(), first.events, last.events).snapshot)).toBe('containment_failed');
    });

    it('never records an action twice (a result after a restart is ignored)', () => {
      const first = given(open()).when(complete('quarantine_model', target, true));
      expect(
        given(open(), first.events).when(complete('quarantine_model', target, true)),
      ).toMatchObject({
        events: [],
        reason: 'not_pending',
      });
    });
  });

  describe('the recovery ceremony', () => {
    const target = `model/${HEX}`;
    const contained = () => {
      const a = given(open()).when(complete('quarantine_model', target, true)).events;
      const b = given(open(), a).when(complete('freeze_agent', 'agent/state', true)).events;
      return [open(), a, b];
    };

    it('refuses to resolve while containment runs', () => {
      expect(given(open()).when(resolveWith(verifiedAt(99))).refusal?.code).toBe(
        'containment_in_progress',
      );
    });

    it('refuses to resolve a latched incident without a fresh attestation.verified', () => {
      const g = given(...contained());
      expect(g.when(resolveWith(null)).refusal?.code).toBe('reattestation_required');
      // Stored before the containment finished: it does not count.
      expect(g.when(resolveWith(verifiedAt(2))).refusal?.code).toBe('reattestation_required');
      expect(g.when(resolveWith({ ...verifiedAt(99), policySatisfied: false })).refusal?.code).toBe(
        'reattestation_required',
      );
    });

    it('with require_hardware_attestation, only verified hardware evidence counts', () => {
      const g = given(...contained());
      const strict = {
        ...resolveWith(verifiedAt(99)),
        ceremony: { ...policy.ceremony, requireHardwareAttestation: true },
      };
      expect(g.when(strict as IncidentCommand).refusal?.code).toBe('reattestation_required');
      const hw = { ...verifiedAt(99), mode: 'hardware' as const, evidenceVerified: true };
      expect(g.when({ ...strict, attestation: hw } as IncidentCommand).refusal).toBeNull();
    });

    it('resolves once the ceremony holds, bound to the incident as it stands, then acknowledges', () => {
      const batches = contained();
      const g = given(...batches);
      const resolved = g.when(resolveWith(verifiedAt(99)));
      expect(resolved.events).toEqual([
        {
          type: 'incident.resolved',
          aggregateId: ID,
          data: {
            incidentId: ID,
            operator: 'alice',
            note: 'restored from backup',
            ceremony: {
              binding: bindingOf(g.snapshot.context),
              reattestRequired: true,
              attestationEventId: 'att-99',
            },
          },
        },
      ]);
      const r = given(...batches, resolved.events);
      expect(stateOf(r.snapshot)).toBe('resolved');
      const acked = r.when({ type: 'acknowledge', operator: 'bob', note: '' });
      expect(acked.events[0]).toMatchObject({
        type: 'incident.acknowledged',
        data: { operator: 'bob' },
      });
      const done = given(...batches, resolved.events, acked.events);
      expect(stateOf(done.snapshot)).toBe('acknowledged');
      expect(done.when({ type: 'acknowledge', operator: 'bob', note: '' })).toMatchObject({
        events: [],
        reason: 'already_acknowledged',
      });
      expect(done.when(resolveWith(verifiedAt(99)))).toMatchObject({
        events: [],
        reason: 'already_resolved',
      });
    });

    it('refuses an acknowledgement before the resolution, and an unnamed operator', () => {
      const g = given(...contained());
      expect(g.when({ type: 'acknowledge', operator: 'bob', note: '' }).refusal?.code).toBe(
        'not_resolved',
      );
      expect(g.when(resolveWith(verifiedAt(99), ' ')).refusal?.code).toBe('operator_invalid');
    });

    it('a non-latched, non-critical incident resolves without re-attestation', () => {
      const o = observation({
        class: 'tool_call_burst',
        severity: 'medium',
        subject: 'service/agent',
      });
      const opened = open(o);
      const c = given(opened).when(complete('freeze_agent', 'agent/state', true)).events;
      const d = given(opened, c).when({
        ...resolveWith(null),
        rule: policy.classes.tool_call_burst,
      } as IncidentCommand);
      expect(d.events[0]).toMatchObject({
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

    it('a resolution whose binding no longer matches (escalated afterwards) is refused', () => {
      const o = observation({
        class: 'forbidden_airlock_request',
        severity: 'medium',
        subject: 'egress/x',
      });
      const opened = open(o);
      const g = given(opened);
      const resolved = g.when({
        ...resolveWith(null),
        rule: policy.classes.forbidden_airlock_request,
      } as IncidentCommand).events;
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

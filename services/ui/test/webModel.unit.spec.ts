import { describe, expect, it } from 'vitest';
import {
  attestationSummary,
  foldAttestation,
  initialAttestation,
} from '../web/src/model/attestation.js';
import {
  filterDecisions,
  foldDecisions,
  initialDecisions,
  whyDenied,
} from '../web/src/model/decisions.js';
import { filterEvents } from '../web/src/model/events.js';
import {
  foldIncidents,
  incidentBoard,
  initialIncidents,
  openBySeverity,
} from '../web/src/model/incidents.js';
import { foldIntegrity, initialIntegrity } from '../web/src/model/integrity.js';
import {
  decisionsPerMinute,
  eventsPerMinuteByZone,
  foldMetrics,
  initialMetrics,
  stageTimes,
  ZONES,
} from '../web/src/model/metrics.js';
import { availableCount, foldModels, initialModels, modelRows } from '../web/src/model/models.js';
import { foldQuarantine, initialQuarantine, runsByState } from '../web/src/model/quarantine.js';
import { foldServices, initialServices, serviceRows } from '../web/src/model/services.js';
import { foldDashboard, initialDashboard } from '../web/src/model/dashboard.js';
import { foldPolicy, initialPolicy, policyFilesOf } from '../web/src/model/policy.js';
import { T0, fixture, foldAll, seen } from './webFixtures.js';

const ARTIFACT = '3f2a9c' + 'e'.repeat(58);
const INCIDENT = '01913f80-1111-7000-8000-000000000007';

describe('services (the service-status rules)', () => {
  it('given started, stopped and a supervisor failure, each service shows its state', () => {
    const events = [
      seen('service.started', 'quarantine', 'service/quarantine'),
      seen('service.started', 'registry', 'service/registry'),
      seen('service.stopped', 'quarantine', 'service/quarantine'),
      // The supervisor reports the registry failed: the registry's row turns failed.
      seen('service.failed', 'appliance', 'service/appliance'),
    ];
    const rows = serviceRows(foldAll(foldServices, initialServices(), events));
    expect(rows.map((r) => [r.name, r.status])).toEqual([
      ['appliance', 'unknown'],
      ['quarantine', 'stopped'],
      ['registry', 'failed'],
    ]);
    expect(rows.find((r) => r.name === 'registry')?.lastType).toBe('service.failed');
  });

  it('given a running service, when it emits anything else, it stays running with last* refreshed', () => {
    const started = seen('service.started', 'registry', 'service/registry');
    const stored = seen('model.stored', 'registry', `model/${ARTIFACT}`);
    const view = foldAll(foldServices, initialServices(), [started, stored]);
    expect(view.services['registry']).toMatchObject({
      status: 'running',
      pid: fixture<{ pid: number }>('service.started').pid,
      lastType: 'model.stored',
      lastSeq: stored.seq,
    });
  });
});

describe('attestation mode', () => {
  it('given nothing seen, says UNATTESTED', () => {
    expect(attestationSummary(initialAttestation())).toMatchObject({ attested: false, mode: null });
    expect(attestationSummary(initialAttestation()).say).toMatch(/^UNATTESTED/);
  });

  it('given development mode declared, says UNATTESTED (software) with the reason', () => {
    const view = foldAttestation(
      initialAttestation(),
      seen(
        'attestation.development_mode.declared',
        'runtime-attestor',
        'attestation/secai-dev-laptop',
      ),
    );
    const summary = attestationSummary(view);
    expect(summary).toMatchObject({ attested: false, mode: 'software' });
    expect(summary.say).toMatch(/^UNATTESTED \(software\): development mode declared/);
  });

  it('given a hardware run with verified evidence, says attested (hardware)', () => {
    const view = foldAttestation(
      initialAttestation(),
      seen('attestation.verified', 'runtime-attestor', 'attestation/secai-01'),
    );
    expect(attestationSummary(view)).toMatchObject({ attested: true, mode: 'hardware' });
  });

  it('given a failed run after a verified one, says UNATTESTED and FAILED with the reasons', () => {
    const view = foldAll(foldAttestation, initialAttestation(), [
      seen('attestation.verified', 'runtime-attestor', 'attestation/secai-01'),
      seen('attestation.failed', 'runtime-attestor', 'attestation/secai-01'),
    ]);
    const { say, attested } = attestationSummary(view);
    expect(attested).toBe(false);
    expect(say).toContain('FAILED');
    for (const reason of fixture<{ reasons: string[] }>('attestation.failed').reasons) {
      expect(say).toContain(reason);
    }
  });
});

describe('integrity per path class', () => {
  it('starts unknown for every class; a baseline makes it ok; a violation and a state change degrade it', () => {
    const start = initialIntegrity();
    expect(Object.values(start).every((c) => c.state === 'unknown')).toBe(true);
    const created = { ...fixture('integrity.baseline.created'), pathClass: 'service_binary' };
    const view = foldAll(foldIntegrity, start, [
      seen('integrity.baseline.created', 'integrity-monitor', 'integrity/service_binary', created),
      seen('integrity.violation.detected', 'integrity-monitor', 'integrity/service_binary'),
      seen('integrity.state.changed', 'integrity-monitor', 'integrity/service_binary'),
    ]);
    const binaries = view['service_binary'];
    expect(binaries).toMatchObject({ state: 'degraded', violationCount: 1 });
    expect(binaries?.violations).toHaveLength(1);
    expect(binaries?.violations[0]?.path).toBe(
      fixture<{ path: string }>('integrity.violation.detected').path,
    );
    expect(view['policy_file']?.state).toBe('unknown');
  });
});

describe('incidents', () => {
  const lifecycle = () => [
    seen('incident.opened', 'incident-recorder', `incident/${INCIDENT}`),
    seen('incident.observation.attached', 'incident-recorder', `incident/${INCIDENT}`),
    seen('incident.containment.requested', 'incident-recorder', `incident/${INCIDENT}`),
    seen('incident.containment.action.completed', 'incident-recorder', `incident/${INCIDENT}`),
    seen('incident.contained', 'incident-recorder', `incident/${INCIDENT}`),
  ];

  it('given an incident opened and contained, its timeline runs observation → classification → containment → outcome', () => {
    const view = foldAll(foldIncidents, initialIncidents(), lifecycle());
    const incident = view[INCIDENT];
    expect(incident).toMatchObject({
      class: 'integrity_violation',
      severity: 'critical',
      status: 'contained',
    });
    expect(incident?.timeline.map((t) => t.phase)).toEqual([
      'observation',
      'classification',
      'observation',
      'containment',
      'containment',
      'outcome',
    ]);
    const board = incidentBoard(view);
    expect(
      board.columns.find((c) => c.severity === 'critical')?.incidents.map((i) => i.id),
    ).toEqual([INCIDENT]);
    expect(openBySeverity(view).critical).toBe(1);
  });

  it('when resolved, it leaves the open board and its ceremony ends the timeline', () => {
    const view = foldAll(foldIncidents, initialIncidents(), [
      ...lifecycle(),
      seen('incident.resolved', 'incident-recorder', `incident/${INCIDENT}`),
    ]);
    const board = incidentBoard(view);
    expect(board.openCount).toBe(0);
    expect(board.resolved.map((i) => i.id)).toEqual([INCIDENT]);
    const last = view[INCIDENT]?.timeline.at(-1);
    expect(last).toMatchObject({ phase: 'ceremony', type: 'incident.resolved' });
    expect(last?.summary).toContain('alice');
  });

  it('when acknowledged after it was resolved, it is released (final) and stays off the board', () => {
    const view = foldAll(foldIncidents, initialIncidents(), [
      ...lifecycle(),
      seen('incident.resolved', 'incident-recorder', `incident/${INCIDENT}`),
      seen('incident.acknowledged', 'incident-recorder', `incident/${INCIDENT}`),
    ]);
    expect(view[INCIDENT]?.status).toBe('acknowledged');
    expect(incidentBoard(view).openCount).toBe(0);
    expect(view[INCIDENT]?.timeline.slice(-2).map((t) => t.type)).toEqual([
      'incident.resolved',
      'incident.acknowledged',
    ]);
  });

  it('given containment that failed, the incident says so', () => {
    const view = foldAll(foldIncidents, initialIncidents(), [
      seen('incident.opened', 'incident-recorder', `incident/${INCIDENT}`),
      seen('incident.containment.failed', 'incident-recorder', `incident/${INCIDENT}`, {
        ...fixture<Record<string, unknown>>('incident.containment.failed'),
        incidentId: INCIDENT,
      }),
    ]);
    expect(view[INCIDENT]?.status).toBe('containment_failed');
    expect(view[INCIDENT]?.timeline.at(-1)).toMatchObject({ phase: 'outcome', ok: false });
  });
});

describe('quarantine runs', () => {
  const subject = `artifact/${ARTIFACT}`;

  it('given a started run, every planned stage is pending; each appears as it passes', () => {
    const view = foldAll(foldQuarantine, initialQuarantine(), [
      seen('model.acquired', 'quarantine', subject),
      seen('quarantine.started', 'quarantine', subject),
      seen('quarantine.stage.passed', 'quarantine', subject),
    ]);
    const run = runsByState(view).inProgress[0];
    expect(run?.name).toBe(fixture<{ name: string }>('model.acquired').name);
    expect(run?.stages.map((s) => [s.stage, s.status])).toEqual([
      ['source_policy', 'pending'],
      ['format_gate', 'passed'],
      ['hash_pin', 'pending'],
      ['provenance', 'pending'],
      ['static_scan', 'pending'],
      ['behavioral_test', 'pending'],
    ]);
    expect(run?.stages[1]?.isolation?.network).toBe('none');
  });

  it('when a stage fails, the run is failed with the reason; a rejection finishes it', () => {
    const view = foldAll(foldQuarantine, initialQuarantine(), [
      seen('quarantine.started', 'quarantine', subject),
      seen('quarantine.stage.failed', 'quarantine', subject),
      seen('model.rejected', 'quarantine', subject),
    ]);
    const { inProgress, finished } = runsByState(view);
    expect(inProgress).toEqual([]);
    const failedStage = fixture<{ stage: string; reason: string }>('quarantine.stage.failed');
    const stage = finished[0]?.stages.find((s) => s.stage === failedStage.stage);
    expect(stage).toMatchObject({ status: 'failed', reason: failedStage.reason });
    expect(finished[0]?.status).toBe('rejected');
  });

  it('when completed and promoted, the run keeps its evidence and outcome', () => {
    const view = foldAll(foldQuarantine, initialQuarantine(), [
      seen('quarantine.started', 'quarantine', subject),
      seen('quarantine.completed', 'quarantine', subject),
      seen('model.promoted', 'quarantine', subject),
    ]);
    const run = runsByState(view).finished[0];
    expect(run?.status).toBe('promoted');
    expect(run?.completed?.provenance).toBe(
      fixture<{ provenance: string }>('quarantine.completed').provenance,
    );
    expect(run?.outcome).toMatchObject({ kind: 'promoted' });
  });
});

describe('models (the registry)', () => {
  it('given a stored model promoted from a run, its row carries the run pin, provenance and stages', () => {
    const quarantine = foldAll(foldQuarantine, initialQuarantine(), [
      seen('quarantine.started', 'quarantine', `artifact/${ARTIFACT}`),
      seen('quarantine.stage.passed', 'quarantine', `artifact/${ARTIFACT}`),
      seen('quarantine.completed', 'quarantine', `artifact/${ARTIFACT}`),
    ]);
    const models = foldAll(foldModels, initialModels(), [
      seen('model.stored', 'registry', `model/${ARTIFACT}`),
      seen('model.verified', 'registry', `model/${ARTIFACT}`),
    ]);
    const [row] = modelRows(models, quarantine);
    const completed = fixture<{ pin: string; provenance: string }>('quarantine.completed');
    expect(row).toMatchObject({
      status: 'verified',
      name: 'qwen2.5-1.5b-instruct',
      pin: completed.pin,
      provenance: completed.provenance,
    });
    expect(row?.stages.find((s) => s.stage === 'format_gate')?.status).toBe('passed');
    expect(availableCount(models)).toBe(1);
  });

  it('when contained, the model is no longer available and says who contained it', () => {
    const models = foldAll(foldModels, initialModels(), [
      seen('model.stored', 'registry', `model/${ARTIFACT}`),
      seen('model.contained', 'registry', `model/${ARTIFACT}`),
    ]);
    expect(models[ARTIFACT]?.status).toBe('contained');
    expect(models[ARTIFACT]?.removal?.kind).toBe('contained');
    expect(availableCount(models)).toBe(0);
  });
});

describe('decisions', () => {
  const decided = () => seen('policy.decided', 'policy-engine', 'decision/tool_access');
  const group = () => seen('policy.decisions.recorded', 'policy-engine', 'decision/tool_access');

  it('given one decision and a group of two, there are three rows, group members addressed #i', () => {
    const single = decided();
    const recorded = group();
    const view = foldAll(foldDecisions, initialDecisions(), [single, recorded]);
    expect(view.rows.map((r) => r.decisionId)).toEqual([
      single.event.id,
      `${recorded.event.id}#0`,
      `${recorded.event.id}#1`,
    ]);
    expect(view.counts).toEqual({ allow: 1, deny: 2, ask: 0 });
  });

  it('filters by verdict, newest first; why denied gives the rule, the matched trace and the policy digest', () => {
    const view = foldAll(foldDecisions, initialDecisions(), [decided(), group()]);
    const denied = filterDecisions(view.rows, { decision: 'deny' });
    expect(denied.map((r) => r.decisionId.includes('#'))).toEqual([true, false]);
    const single = denied[1]!;
    const why = whyDenied(single);
    const data = fixture<{
      evidence: { ruleId: string; policyDigest: string; trace: { matched: boolean }[] };
    }>('policy.decided');
    expect(why.rule).toBe(data.evidence.ruleId);
    expect(why.policyDigest).toBe(data.evidence.policyDigest);
    expect(why.matched).toHaveLength(data.evidence.trace.filter((t) => t.matched).length);
  });
});

describe('the active policy', () => {
  it('given a load, holds its digest and documents, and gives them back as the what-if files', () => {
    const view = foldPolicy(
      initialPolicy(),
      seen('policy.loaded', 'policy-engine', 'policy/active'),
    );
    const loaded = fixture<{ digest: string; documents: string }>('policy.loaded');
    expect(view.active?.digest).toBe(loaded.digest);
    const files = policyFilesOf(view.active);
    expect(Object.keys(files)).toEqual(['policy.yaml', 'agent.yaml']);
    const documents = JSON.parse(loaded.documents) as Record<string, unknown>;
    expect(JSON.parse(files['policy.yaml']!)).toEqual(documents['policy']);
  });

  it('when a later load is refused, the active policy stays and the refusal is shown', () => {
    const view = foldAll(foldPolicy, initialPolicy(), [
      seen('policy.loaded', 'policy-engine', 'policy/active'),
      seen('policy.load.failed', 'policy-engine', 'policy/active'),
    ]);
    expect(view.active).not.toBeNull();
    expect(view.lastFailure?.errors).toEqual(
      fixture<{ errors: unknown[] }>('policy.load.failed').errors,
    );
  });
});

describe('metrics', () => {
  it('counts events per minute by the zone of their emitter and decisions allowed/denied', () => {
    const minute = (m: number, s = 0) => ({ time: T0 + m * 60_000 + s * 1000 });
    const events = [
      seen('service.started', 'quarantine', 'service/quarantine', undefined, minute(0, 1)),
      seen('service.started', 'registry', 'service/registry', undefined, minute(0, 2)),
      seen(
        'policy.decisions.recorded',
        'policy-engine',
        'decision/tool_access',
        undefined,
        minute(2),
      ),
    ];
    const view = foldAll(foldMetrics, initialMetrics(), events);
    const [xs, ...zones] = eventsPerMinuteByZone(view);
    expect(xs).toEqual([T0 / 1000, T0 / 1000 + 60, T0 / 1000 + 120]);
    const byZone = Object.fromEntries(ZONES.map((z, i) => [z, zones[i]]));
    expect(byZone['quarantine']).toEqual([1, 0, 0]);
    expect(byZone['runtime']).toEqual([1, 0, 0]);
    expect(byZone['enforcement']).toEqual([0, 0, 1]);
    const [, allow, deny] = decisionsPerMinute(view);
    expect(allow).toEqual([0, 0, 1]);
    expect(deny).toEqual([0, 0, 1]);
  });

  it('gives each finished stage its mean and max time', () => {
    const subject = `artifact/${ARTIFACT}`;
    const quarantine = foldAll(foldQuarantine, initialQuarantine(), [
      seen('quarantine.started', 'quarantine', subject),
      seen('quarantine.stage.passed', 'quarantine', subject),
    ]);
    const durationMs = fixture<{ durationMs: number }>('quarantine.stage.passed').durationMs;
    expect(stageTimes(quarantine)).toEqual([
      { stage: 'format_gate', runs: 1, meanMs: durationMs, maxMs: durationMs, lastMs: durationMs },
    ]);
  });
});

describe('the live list and the whole dashboard', () => {
  it('filters by type prefix, aggregate and emitter, newest first', () => {
    const events = [
      seen('service.started', 'registry', 'service/registry'),
      seen('model.stored', 'registry', `model/${ARTIFACT}`),
      seen('incident.opened', 'incident-recorder', `incident/${INCIDENT}`),
    ];
    expect(filterEvents(events, { type: 'model.' }).map((e) => e.event.type)).toEqual([
      'model.stored',
    ]);
    expect(filterEvents(events, { aggregate: 'incident' })).toHaveLength(1);
    expect(filterEvents(events, { emitter: 'registry' }).map((e) => e.event.type)).toEqual([
      'model.stored',
      'service.started',
    ]);
    expect(filterEvents(events, { type: 'service.started' })).toHaveLength(1);
  });

  it('folds every view and remembers the newest seal', () => {
    const d = foldAll(foldDashboard, initialDashboard(), [
      seen('service.started', 'incident-recorder', 'service/incident-recorder'),
      seen('audit.checkpoint.sealed', 'incident-recorder', 'audit/chain'),
    ]);
    expect(d.verifiedCount).toBe(2);
    expect(d.services.services['incident-recorder']?.status).toBe('running');
    expect(d.lastSeal).toMatchObject({
      toSeq: fixture<{ toSeq: number }>('audit.checkpoint.sealed').toSeq,
    });
  });
});

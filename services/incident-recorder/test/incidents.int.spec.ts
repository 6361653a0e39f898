import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  COMMANDS,
  commandSubject,
  issueBearerToken,
  newEventId,
  signCommand,
  verifyCommand,
  type CommandReply,
  type EventData,
} from '@secai/contracts';
import { verifyBundle } from '@secai/projections';
import { sendCommand, serveCommand, type LoadedEvent } from '@secai/streams';
import {
  fakeContainmentTarget,
  startTestAppliance,
  waitFor,
  type FakeTarget,
  type ServiceClient,
  type TestAppliance,
  recordFreshAttestation,
} from '@secai/streams/testing';
import { removeTree, startRegistry, type RunningRegistry } from '@secai/registry';
import { stateOf, startRecorder, type RunningRecorder } from '../src/index.js';

const log = pino({ level: 'silent' });
let app: TestAppliance;
let dir: string;
let registry: RunningRegistry;
let recorder: RunningRecorder;
let monitor: ServiceClient;
let agent: FakeTarget;
let cli: ServiceClient;

const start = async () =>
  startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'policy'),
    seal: { everyEvents: 100, everyMs: 300 },
    log,
  });

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-incidents-int-'));
  registry = await startRegistry(await app.client('registry'), {
    stateDir: join(dir, 'state'),
    verifyEveryMs: 0,
    log,
  });
  monitor = await app.client('integrity-monitor');
  cli = await app.client('cli');
  agent = fakeContainmentTarget(await app.client('agent'), 'agent.freeze', app.pki);
  recorder = await start();
});

afterAll(async () => {
  agent?.stop();
  await recorder?.stop();
  await registry?.stop();
  await app?.cleanup();
  if (dir) await removeTree(dir);
});

/** A model promoted by the quarantine identity and stored by the registry. */
async function storedModel(): Promise<{ hex: string; path: string }> {
  const content = randomBytes(16 * 1024);
  content.write('GGUF', 0);
  const hex = createHash('sha256').update(content).digest('hex');
  const q = join(dir, 'state', 'quarantine', 'artifacts', hex);
  await mkdir(q, { recursive: true });
  await writeFile(join(q, 'tiny.gguf'), content, { mode: 0o444 });
  await chmod(q, 0o555);
  const quarantine = await app.client('quarantine');
  await quarantine.store.append(
    [
      {
        type: 'model.promoted',
        aggregateId: hex,
        data: {
          decisionId: `decision-${hex.slice(0, 8)}`,
          name: 'Tiny Model',
          fileName: 'tiny.gguf',
          format: 'gguf',
          digest: `sha256:${hex}`,
          sizeBytes: content.length,
          policyDigest: `sha256:${'00'.repeat(32)}`,
        },
      },
    ],
    { expectedSequence: 'any' },
  );
  await waitFor(
    async () =>
      (await app.admin.store.load('model', hex)).events.some(
        (e) => e.event.type === 'model.stored',
      ),
    15_000,
    'model.stored',
  );
  return { hex, path: join(registry.models.layout.storeRoot, 'sha256', hex, 'tiny.gguf') };
}

/** What the integrity monitor records when a stored model file changed. */
async function violation(path: string): Promise<string> {
  const data: EventData<'integrity.violation.detected'> = {
    pathClass: 'model_file',
    path,
    kind: 'modified',
    expected: `sha256:${'0'.repeat(64)}`,
    actual: `sha256:${'1'.repeat(64)}`,
    severity: 'high',
  };
  const { ids } = await monitor.store.append(
    [{ type: 'integrity.violation.detected', aggregateId: 'model_file', data }],
    { expectedSequence: 'any' },
  );
  return ids[0]!;
}

/** The incident whose observations include `causeId`, once it exists. */
async function incidentOf(causeId: string, rec = () => recorder): Promise<string> {
  let id: string | undefined;
  await waitFor(
    () => {
      id = rec()
        .book.all()
        .find(([, r]) => r.snapshot.context.causeEventIds.includes(causeId))?.[0];
      return id !== undefined;
    },
    15_000,
    `an incident for ${causeId}`,
  );
  return id!;
}

async function settled(id: string, rec = () => recorder): Promise<string> {
  await waitFor(
    () => {
      const s = rec().book.get(id)?.snapshot;
      return s !== undefined && stateOf(s) !== 'open';
    },
    20_000,
    `containment of ${id}`,
  );
  return stateOf(rec().book.get(id)!.snapshot);
}

const incidentEvents = async (id: string): Promise<LoadedEvent[]> =>
  (await app.admin.store.load('incident', id)).events;
const types = (events: LoadedEvent[]) => events.map((e) => e.event.type);

async function step(
  command: 'incident-recorder.resolve' | 'incident-recorder.acknowledge',
  incidentId: string,
  operator = 'alice',
): Promise<CommandReply<'incident-recorder.resolve'>> {
  return sendCommand(cli.nc, {
    command,
    signer: app.pki.signerFor('cli'),
    trust: app.pki.trust,
    request: { incidentId, operator, note: 'checked' },
    timeoutMs: 30_000,
  });
}

/** An `attestation.verified` recorded by the runtime attestor identity. */
function attested(): Promise<string> {
  return recordFreshAttestation(app);
}

const token = (service: string) =>
  `Bearer ${issueBearerToken(app.pki.signerFor(service), { audience: 'incident-recorder', now: new Date() })}`;

let containedId: string;
let containedModel: string;

describe('incident lifecycle against a real nats-server', () => {
  it('an integrity violation of a model file is contained: the registry quarantines it, model.contained, incident.contained', async () => {
    const model = await storedModel();
    const cause = await violation(model.path);
    const id = await incidentOf(cause);
    expect(await settled(id)).toBe('contained');
    const events = await incidentEvents(id);
    expect(types(events)).toEqual([
      'incident.opened',
      'incident.containment.requested',
      'incident.containment.action.completed',
      'incident.containment.action.completed',
      'incident.contained',
    ]);
    expect(events[0]!.event.data).toMatchObject({
      class: 'manifest_mismatch',
      severity: 'high',
      subject: `model/${model.hex}`,
      reportedBy: 'integrity-monitor',
      causeEventIds: [cause],
    });
    expect(events[0]!.event.causationid).toBe(cause);
    const modelEvents = (await app.admin.store.load('model', model.hex)).events;
    const contained = modelEvents.find((e) => e.event.type === 'model.contained')!;
    expect(contained.event.data).toMatchObject({ cause: { kind: 'incident', incidentId: id } });
    // The action's result is caused by the registry's confirming event.
    expect(events[2]!.event.data).toMatchObject({ action: 'quarantine_model', ok: true });
    expect(events[2]!.event.causationid).toBe(contained.event.id);
    expect(events[3]!.event.data).toMatchObject({ action: 'freeze_agent', ok: true });
    expect(registry.manifest.runner.document.models[model.hex]?.status).toBe('contained');
    containedId = id;
    containedModel = model.hex;
  });

  it('a missing target fails closed, saying so: agent.freeze with no agent running is target_absent', async () => {
    agent.stop();
    try {
      const model = await storedModel();
      const id = await incidentOf(await violation(model.path));
      expect(await settled(id)).toBe('containment_failed');
      const failed = (await incidentEvents(id)).at(-1)!;
      expect(failed.event.type).toBe('incident.containment.failed');
      const data = failed.event.data as EventData<'incident.containment.failed'>;
      expect(data.succeeded).toEqual(['quarantine_model']);
      expect(data.failed).toEqual([
        {
          action: 'freeze_agent',
          target: 'agent/state',
          // The bus answered "no responders": not a timeout, and the reason is in the outcome.
          detail: 'target_absent: no agent service in this appliance',
        },
      ]);
    } finally {
      agent = fakeContainmentTarget(await app.client('agent'), 'agent.freeze', app.pki);
    }
  });

  it('20 identical violations make one incident with count 20, contained once', async () => {
    const model = await storedModel();
    const causes: string[] = [];
    for (let i = 0; i < 20; i++) causes.push(await violation(model.path));
    const id = await incidentOf(causes[0]!);
    await waitFor(
      () => recorder.book.get(id)?.snapshot.context.observationCount === 20,
      20_000,
      '20 observations',
    );
    expect(await settled(id)).toBe('contained');
    const ofModel = recorder.book
      .all()
      .filter(([, r]) => r.snapshot.context.subject === `model/${model.hex}`);
    expect(ofModel.map(([i]) => i)).toEqual([id]);
    const events = await incidentEvents(id);
    expect(types(events).filter((t) => t === 'incident.observation.attached')).toHaveLength(19);
    expect(types(events).filter((t) => t === 'incident.containment.requested')).toHaveLength(1);
    expect(types(events).filter((t) => t === 'incident.containment.action.completed')).toHaveLength(
      2,
    );
    const contained = (await app.admin.store.load('model', model.hex)).events.filter(
      (e) => e.event.type === 'model.contained',
    );
    expect(contained).toHaveLength(1);
    expect(agent.calls.filter((c) => c.incidentId === id)).toHaveLength(1);
    const attached = events.filter((e) => e.event.type === 'incident.observation.attached');
    expect((attached.at(-1)!.event.data as EventData<'incident.observation.attached'>).count).toBe(
      20,
    );
  });

  it('refuses to resolve before the recovery ceremony; a fresh attestation.verified completes it', async () => {
    // No attestor is running and nothing was attested since the incident: refused.
    const early = await step('incident-recorder.resolve', containedId);
    expect(early).toMatchObject({ ok: false, code: 'reattestation_required' });
    expect(await step('incident-recorder.acknowledge', containedId)).toMatchObject({
      ok: false,
      code: 'not_resolved',
    });
    const attestation = await attested();
    expect(await step('incident-recorder.resolve', containedId)).toEqual({
      ok: true,
      state: 'resolved',
    });
    expect(await step('incident-recorder.acknowledge', containedId, 'bob')).toEqual({
      ok: true,
      state: 'acknowledged',
    });
    // Idempotent: the same steps again change nothing.
    expect(await step('incident-recorder.acknowledge', containedId, 'bob')).toEqual({
      ok: true,
      state: 'acknowledged',
    });
    const events = await incidentEvents(containedId);
    expect(types(events).slice(-2)).toEqual(['incident.resolved', 'incident.acknowledged']);
    expect(events.at(-2)!.event.data).toMatchObject({
      operator: 'alice',
      ceremony: { reattestRequired: true, attestationEventId: attestation },
    });
    // A new observation of the same model opens a new incident: the old one is closed.
    const again = await violation(
      join(registry.models.layout.storeRoot, 'sha256', containedModel, 'tiny.gguf'),
    );
    expect(await incidentOf(again)).not.toBe(containedId);
  });

  it('asks the runtime attestor for a fresh attestation when none was recorded', async () => {
    const attestor = await app.client('runtime-attestor');
    const sub = serveCommand(attestor.nc, {
      command: 'runtime-attestor.attest',
      signer: app.pki.signerFor('runtime-attestor'),
      trust: app.pki.trust,
      handle: async () => ({ ok: true, outcome: 'verified', eventId: await attested() }),
    });
    try {
      const model = await storedModel();
      const id = await incidentOf(await violation(model.path));
      expect(await settled(id)).toBe('contained');
      expect(await step('incident-recorder.resolve', id)).toEqual({ ok: true, state: 'resolved' });
    } finally {
      sub.unsubscribe();
    }
  });

  it('policy denials of the same request from one caller open a policy_bypass_attempt', async () => {
    const engine = await app.client('policy-engine');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { ids: appended } = await engine.store.append(
        [
          {
            type: 'policy.decided',
            aggregateId: 'tool_access',
            data: {
              caller: 'tool-firewall',
              domain: 'tool_access',
              subject: { digest: `sha256:${'7'.repeat(64)}`, redacted: 'shell.exec' },
              input: '{"tool":"shell.exec"}',
              decision: 'deny',
              reason: 'shell.exec is denied',
              evidence: {
                domain: 'tool_access',
                ruleId: 'tools.deny.shell_exec',
                policyDigest: null,
                inputDigest: `sha256:${'8'.repeat(64)}`,
                evaluatedAt: new Date().toISOString(),
                durationMicros: 5,
                trace: [],
              },
            },
          },
        ],
        { expectedSequence: 'any' },
      );
      ids.push(appended[0]!);
    }
    const id = await incidentOf(ids[2]!);
    const ctx = recorder.book.get(id)!.snapshot.context;
    expect(ctx).toMatchObject({ class: 'policy_bypass_attempt', subject: 'service/tool-firewall' });
    expect(ctx.causeEventIds).toEqual(ids);
    expect(await settled(id)).toBe('contained'); // freeze_agent + log_alert
  });

  it('a refused command is recorded and comes back as an unauthorized_access incident', async () => {
    const def = COMMANDS['incident-recorder.resolve'];
    const { document, bytes } = signCommand(
      'incident-recorder.resolve',
      'request',
      { incidentId: containedId, operator: 'mallory', note: '' },
      app.pki.signerFor('registry'),
      { now: new Date() },
    );
    const response = await app.admin.nc.request(commandSubject(def.handler, def.name), bytes, {
      timeout: 5000,
    });
    const reply = verifyCommand(response.data, app.pki.trust, {
      command: 'incident-recorder.resolve',
      direction: 'reply',
      inReplyTo: document.id,
    });
    expect(reply.document.data).toMatchObject({ ok: false, code: 'TYPE_NOT_AUTHORISED' });
    await waitFor(
      () =>
        recorder.book
          .all()
          .some(
            ([, r]) =>
              r.snapshot.context.class === 'unauthorized_access' &&
              r.snapshot.context.subject === 'service/registry',
          ),
      15_000,
      'an unauthorized_access incident',
    );
  });
});

describe('the gateway (HTTP)', () => {
  it('lists, shows with the timeline, counts; tokens and scopes are enforced', async () => {
    const list = await recorder.http.inject({
      method: 'GET',
      url: '/api/v1/incidents?class=manifest_mismatch',
      headers: { authorization: token('ui') },
    });
    expect(list.statusCode).toBe(200);
    const body = list.json<{ incidents: { id: string; class: string }[]; total: number }>();
    expect(body.total).toBeGreaterThanOrEqual(4);
    expect(body.incidents.every((i) => i.class === 'manifest_mismatch')).toBe(true);

    const show = await recorder.http.inject({
      method: 'GET',
      url: `/api/v1/incidents/${containedId}`,
      headers: { authorization: token('cli') },
    });
    expect(show.statusCode).toBe(200);
    const shown = show.json<{ incident: { state: string }; timeline: { type: string }[] }>();
    expect(shown.incident.state).toBe('acknowledged');
    expect(shown.timeline.map((e) => e.type)).toContain('incident.contained');

    const stats = await recorder.http.inject({
      method: 'GET',
      url: '/api/v1/stats',
      headers: { authorization: token('appliance') },
    });
    expect(
      stats.json<{ byState: Record<string, number> }>().byState.acknowledged,
    ).toBeGreaterThanOrEqual(1);

    expect(
      (await recorder.http.inject({ method: 'GET', url: '/api/v1/incidents' })).statusCode,
    ).toBe(401);
    expect(
      (
        await recorder.http.inject({
          method: 'GET',
          url: '/api/v1/incidents',
          headers: { authorization: token('registry') },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await recorder.http.inject({
          method: 'GET',
          url: `/api/v1/incidents/${containedId}/export`,
          // The forensic scope is the CLI's and the UI's (it relays the bundle to an operator).
          headers: { authorization: token('appliance') },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await recorder.http.inject({
          method: 'GET',
          url: '/api/v1/incidents/INC-nope',
          headers: { authorization: token('ui') },
        })
      ).statusCode,
    ).toBe(404);
    const health = await recorder.http.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toMatchObject({ status: 'ok', incidents: { anomalies: 0 } });
  });

  it('reloads incidents.yaml; an invalid file is refused and the previous policy stays', async () => {
    const path = join(dir, 'policy', 'incidents.yaml');
    const original = await readFile(path, 'utf8');
    const digest = recorder.policy().digest;
    const reload = () =>
      recorder.http.inject({
        method: 'POST',
        url: '/api/v1/reload',
        headers: { authorization: token('cli') },
      });
    try {
      await writeFile(path, original.replace('threshold: 10', 'threshold: 12'));
      const ok = await reload();
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ status: 'reloaded', changed: true });
      expect(recorder.policy().policy.denyBursts[0]!.threshold).toBe(12);
      await writeFile(path, `${original}\nunknown_key: 1\n`);
      const bad = await reload();
      expect(bad.statusCode).toBe(422);
      expect(bad.json()).toMatchObject({ code: 'POLICY_INVALID' });
      expect(recorder.policy().policy.denyBursts[0]!.threshold).toBe(12);
    } finally {
      await writeFile(path, original);
      await reload();
    }
    expect(recorder.policy().digest).toBe(digest);
  });

  it('resolving over HTTP before the ceremony is a 409 problem', async () => {
    const model = await storedModel();
    const id = await incidentOf(await violation(model.path));
    await settled(id);
    const res = await recorder.http.inject({
      method: 'POST',
      url: `/api/v1/incidents/${id}/resolve`,
      headers: { authorization: token('ui') },
      payload: { operator: 'alice' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'REATTESTATION_REQUIRED' });
  });

  it('exports one incident as a bundle that verifies offline, and fails after a byte is changed', async () => {
    const res = await recorder.http.inject({
      method: 'GET',
      url: `/api/v1/incidents/${containedId}/export`,
      headers: { authorization: token('cli') },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['secai-bundle-sealed']).toBe('true');
    const selection = String(res.headers['secai-selection']).split(',').map(Number);
    const file = join(dir, 'incident.bundle.jsonl');
    await writeFile(file, res.rawPayload);
    const report = await verifyBundle(file, { expectedRootKeyid: app.pki.trust.rootKeyid });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.rootPinned).toBe(true);
    expect(report.unsealedTail).toBeNull();
    expect(report.header.fromSeq).toBeLessThanOrEqual(selection[0]!);
    expect(report.header.toSeq).toBeGreaterThanOrEqual(selection.at(-1)!);
    // The selection: the incident's 9 events, the violation, model.contained, the attestation.
    const incident = await incidentEvents(containedId);
    const wanted = incident.map((e) => e.seq);
    expect(selection).toEqual(expect.arrayContaining(wanted));
    expect(selection.length).toBe(wanted.length + 3);

    const lines = (await readFile(file, 'utf8')).split('\n');
    const target = lines.findIndex((l, i) => i > 0 && l.startsWith(`{"seq":${selection[0]},`));
    const at = lines[target]!.indexOf('"payload":"') + '"payload":"'.length + 30;
    const line = lines[target]!;
    lines[target] = line.slice(0, at) + (line[at] === 'A' ? 'B' : 'A') + line.slice(at + 1);
    await writeFile(file, lines.join('\n'));
    const tampered = await verifyBundle(file, { expectedRootKeyid: app.pki.trust.rootKeyid });
    expect(tampered.ok).toBe(false);
    expect(tampered.failures.length).toBeGreaterThan(0);
    await rm(file);
  });
});

describe('restart of the recorder mid-containment', () => {
  it('resumes the pending actions without repeating the completed ones', async () => {
    agent.hold();
    const model = await storedModel();
    const cause = await violation(model.path);
    const id = await incidentOf(cause);
    // quarantine_model is done; freeze_agent was sent and is waiting for its answer.
    await waitFor(
      () =>
        (recorder.book.get(id)?.snapshot.context.results.length ?? 0) === 1 &&
        agent.calls.some((c) => c.incidentId === id),
      15_000,
      'the freeze request in flight',
    );
    await recorder.stop();
    agent.release();
    expect(stateOf(recorder.book.get(id)!.snapshot)).toBe('open');

    recorder = await start();
    expect(stateOf(recorder.book.get(id)!.snapshot)).not.toBe('none');
    expect(await settled(id)).toBe('contained');
    const events = await incidentEvents(id);
    expect(types(events)).toEqual([
      'incident.opened',
      'incident.containment.requested',
      'incident.containment.action.completed',
      'incident.containment.action.completed',
      'incident.contained',
    ]);
    expect(events.map((e) => (e.event.data as { action?: string }).action).slice(2, 4)).toEqual([
      'quarantine_model',
      'freeze_agent',
    ]);
    expect((events[3]!.event.data as { detail: string }).detail).toBe('already in effect');
    // The freeze in flight at the stop was sent again (idempotent); the quarantine was not.
    expect(agent.calls.filter((c) => c.incidentId === id)).toHaveLength(2);
    const contained = (await app.admin.store.load('model', model.hex)).events.filter(
      (e) => e.event.type === 'model.contained',
    );
    expect(contained).toHaveLength(1);
  });

  it('a restarted recorder rebuilds every incident from the stream, and a redelivered observation opens nothing new', async () => {
    const before = recorder.book.size;
    await recorder.stop();
    recorder = await start();
    expect(recorder.book.size).toBe(before);
    expect(recorder.book.anomalies()).toBe(0);
    // The same observation, recorded again (as after a crash before the ack): no new incident.
    const ctx = recorder.book.get(containedId)!.snapshot.context;
    const result = await recorder.recorder.record({
      class: ctx.class!,
      severity: ctx.severity!,
      subject: ctx.subject,
      reportedBy: 'integrity-monitor',
      description: ctx.description,
      causeId: ctx.causeEventIds[0]!,
      causeIds: [ctx.causeEventIds[0]!],
      time: ctx.openedAt,
      correlationId: newEventId(),
    });
    expect(result).toEqual({ incidentId: containedId, outcome: 'duplicate' });
    expect(recorder.book.size).toBe(before);
  });
});

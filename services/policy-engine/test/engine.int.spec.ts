import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { issueBearerToken, verifyEnvelope, type EventData } from '@secai/contracts';
import { createRogueSigner } from '@secai/contracts/testing';
import {
  readHistory,
  sendCommand,
  streamBounds,
  type RunningConsumer,
  type Subscription,
  watchBus,
} from '@secai/streams';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import {
  DEFAULT_POLICY_DIR,
  PolicyClient,
  PolicyEngine,
  PolicyHost,
  buildHttp,
  groupCommitRecorder,
  replayDecisions,
  recordedDecisions,
  runPromotionConsumer,
  PROMOTION_DURABLE,
  serveCommands,
  snapshotFromDocuments,
  streamRecorder,
  whatIf,
  type PolicySnapshot,
  type RecordedDecision,
} from '../src/index.js';

const log = pino({ level: 'silent' });
let app: TestAppliance;
let engineSide: ServiceClient;
let dir: string;
let engine: PolicyEngine;
let host: PolicyHost;
let subs: Subscription[];
let consumer: RunningConsumer;

beforeAll(async () => {
  app = await startTestAppliance();
  engineSide = await app.client('policy-engine');
  dir = await mkdtemp(join(tmpdir(), 'secai-policy-int-'));
  await cp(DEFAULT_POLICY_DIR, dir, { recursive: true });
  engine = new PolicyEngine();
  host = new PolicyHost(engine, engineSide.store, dir, log);
  expect((await host.reload('startup')).ok).toBe(true);
  // As the service records: group commit (signed on this thread here).
  const recorder = groupCommitRecorder(engineSide.js, engineSide.store.signer);
  subs = serveCommands(engineSide.nc, {
    engine,
    host,
    recorder,
    signer: engineSide.store.signer,
    trust: engineSide.store.trust,
    log,
  });
  consumer = await runPromotionConsumer(engineSide.js, engineSide.jsm, {
    engine,
    recorder,
    store: engineSide.store,
    log,
  });
});

afterAll(async () => {
  for (const s of subs ?? []) s.unsubscribe();
  await consumer?.stop();
  await app?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function recorded(): Promise<{
  decisions: RecordedDecision[];
  policies: Map<string, PolicySnapshot>;
}> {
  const { lastSeq } = await streamBounds(engineSide.jsm, engineSide.store.stream);
  const decisions: RecordedDecision[] = [];
  const policies = new Map<string, PolicySnapshot>();
  for await (const e of readHistory(engineSide.js, engineSide.jsm, engineSide.store.stream, {
    toSeq: lastSeq,
  })) {
    const { event } = verifyEnvelope(e.bytes, app.pki.trust, {
      natsSubject: e.subject,
      streamSeq: e.seq,
    });
    decisions.push(...recordedDecisions(e.seq, event));
    if (event.type === 'policy.loaded') {
      const data = event.data as EventData<'policy.loaded'>;
      policies.set(data.digest, snapshotFromDocuments(data.documents, data.digest));
    }
  }
  return { decisions, policies };
}

describe('decisions over NATS request/reply', () => {
  it('answers a gate through the client library and records the decision before replying', async () => {
    const gate = await app.client('tool-firewall');
    const client = new PolicyClient(gate.nc, app.pki.signerFor('tool-firewall'), app.pki.trust);
    const result = await client.decide({
      domain: 'tool_access',
      subject: 'filesystem.read',
      params: { path: '/vault/user_docs/a.txt' },
    });
    expect(result).toMatchObject({
      decision: 'allow',
      evidence: { ruleId: 'tools.allow.filesystem.read', policyDigest: engine.snapshot!.digest },
    });
    const { decisions } = await recorded();
    const event = decisions.find((d) => d.eventId === result.eventId);
    expect(event?.data).toMatchObject({
      caller: 'tool-firewall',
      decision: 'allow',
      domain: 'tool_access',
    });
    expect(await client.allows({ domain: 'tool_access', subject: 'shell.exec' })).toBe(false);
  });

  it('refuses a decide command signed by an unknown key', async () => {
    const gate = await app.client('tool-firewall');
    const reply = await sendCommand(gate.nc, {
      command: 'policy-engine.decide',
      signer: createRogueSigner('tool-firewall'),
      trust: app.pki.trust,
      request: { domain: 'agent_risk', subject: 'file_read' },
    });
    expect(reply).toMatchObject({ ok: false, code: 'KEY_UNKNOWN' });
  });

  it('does not let a service that is no caller even publish the command (NATS permissions)', async () => {
    const outsider = await app.client('incident-recorder');
    const client = new PolicyClient(
      outsider.nc,
      app.pki.signerFor('incident-recorder'),
      app.pki.trust,
      1000,
    );
    await expect(
      client.decide({ domain: 'agent_risk', subject: 'file_read' }),
    ).rejects.toMatchObject({ code: 'POLICY_UNAVAILABLE' });
  });
});

describe('decisions over HTTP, recorded in the stream', () => {
  it('records a deny for an invalid request and answers 400', async () => {
    const http = buildHttp({
      engine,
      host,
      recorder: streamRecorder(engineSide.store),
      trust: app.pki.trust,
      bus: watchBus(engineSide.nc),
      log,
    });
    const token = issueBearerToken(app.pki.signerFor('agent'), {
      audience: 'policy-engine',
      now: new Date(),
    });
    const res = await http.inject({
      method: 'POST',
      url: '/api/v1/decide',
      headers: { authorization: `Bearer ${token}` },
      payload: { domain: 'path_access', subject: 12 },
    });
    expect(res.statusCode).toBe(400);
    const eventId = res.json<{ decision: { eventId: string } }>().decision.eventId;
    const { decisions } = await recorded();
    expect(decisions.find((d) => d.eventId === eventId)?.data).toMatchObject({
      decision: 'deny',
      evidence: { ruleId: 'request.invalid' },
      caller: 'agent',
    });
    await http.close();
  });
});

describe('model promotion from the stream', () => {
  it('decides each quarantine.completed and records the decision caused by it', async () => {
    const quarantine = await app.client('quarantine');
    const run = async (id: string, completed: Partial<EventData<'quarantine.completed'>>) => {
      const data: EventData<'quarantine.completed'> = {
        passed: true,
        reasonCode: 'all_checks_passed',
        format: 'gguf',
        sizeBytes: 1000,
        signer: null,
        failedStage: null,
        stages: (
          [
            'source_policy',
            'format_gate',
            'hash_pin',
            'provenance',
            'static_scan',
            'behavioral_test',
          ] as const
        ).map((stage) => ({ stage, passed: true, reasonCode: 'ok', durationMs: 1 })),
        behavioralScore: { score: 0.05, flagged: 2, critical: 0, totalPrompts: 41 },
        provenance: 'recorded',
        pin: 'first_use',
        policyDigest: engine.snapshot!.digest,
        durationMs: 10,
        ...completed,
      };
      await quarantine.store.append(
        [
          {
            type: 'model.acquired',
            aggregateId: id,
            data: {
              kind: 'file',
              name: 'tiny.gguf',
              sizeBytes: 1000,
              digest: `sha256:${id}`,
              source: { via: 'import' },
            },
          },
        ],
        { expectedSequence: 0 },
      );
      const { ids } = await quarantine.store.append(
        [{ type: 'quarantine.completed', aggregateId: id, data }],
        { expectedSequence: 'any' },
      );
      return ids[0]!;
    };
    const good = await run('a1'.repeat(32), {});
    const bad = await run('b2'.repeat(32), {
      behavioralScore: { score: 0.9, flagged: 37, critical: 3, totalPrompts: 41 },
    });
    let found: RecordedDecision[] = [];
    await waitFor(
      async () => {
        const { decisions } = await recorded();
        found = decisions.filter((d) => d.data.domain === 'model_promotion');
        return found.length >= 2;
      },
      10_000,
      'promotion decisions',
    );
    const byCause = new Map<string, RecordedDecision>();
    for await (const e of readHistory(engineSide.js, engineSide.jsm, engineSide.store.stream, {
      filterSubject: 'secai.evt.decision.model_promotion',
    })) {
      const { event } = verifyEnvelope(e.bytes, app.pki.trust, { streamSeq: e.seq });
      // A promotion decision is always recorded alone: its causation is its own completion.
      expect(event.type).toBe('policy.decided');
      byCause.set(event.causationid!, recordedDecisions(e.seq, event)[0]!);
    }
    expect(byCause.get(good)?.data).toMatchObject({
      decision: 'allow',
      evidence: { ruleId: 'models.promotion_allowed' },
    });
    expect(byCause.get(bad)?.data).toMatchObject({
      decision: 'deny',
      evidence: { ruleId: 'models.behavior_critical' },
    });
  });

  it('records no second decision when the completions are delivered again (consumer reset)', async () => {
    const causes = async (): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of readHistory(engineSide.js, engineSide.jsm, engineSide.store.stream, {
        filterSubject: 'secai.evt.decision.model_promotion',
      })) {
        out.push(verifyEnvelope(e.bytes, app.pki.trust, { streamSeq: e.seq }).event.causationid!);
      }
      return out;
    };
    const before = await causes();
    expect(before.length).toBeGreaterThanOrEqual(2);
    // A durable deleted and made again replays every completion from the start of the stream:
    // the same messages a crash between record and ack would deliver a second time.
    await consumer.stop();
    // Only the operator may delete a durable (issue 10): the admin connection does it.
    await app.admin.jsm.consumers.delete(engineSide.store.stream, PROMOTION_DURABLE);
    consumer = await runPromotionConsumer(engineSide.js, engineSide.jsm, {
      engine,
      recorder: streamRecorder(engineSide.store),
      store: engineSide.store,
      log,
    });
    await waitFor(
      async () => {
        const info = await engineSide.jsm.consumers.info(
          engineSide.store.stream,
          PROMOTION_DURABLE,
        );
        return (
          info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq > 0
        );
      },
      10_000,
      'the reset consumer to take every completion again',
    );
    const after = await causes();
    expect(after).toEqual(before);
    expect(new Set(after).size).toBe(after.length);
  });
});

describe('reload racing decisions, replay and what-if', () => {
  it('records every decision under exactly the policy it was made with, and replay reproduces all of them', async () => {
    const gate = await app.client('agent');
    const client = new PolicyClient(gate.nc, app.pki.signerFor('agent'), app.pki.trust, 5000);
    const before = engine.snapshot!.digest;
    const agentYaml = await readFile(join(dir, 'agent.yaml'), 'utf8');
    const agentDoc = parse(agentYaml) as { allowed_tools: string[]; hard_approval: string[] };
    const decisions = Array.from({ length: 120 }, (_, i) =>
      client.decide({ domain: 'agent_risk', subject: i % 2 ? 'file_read' : 'file_write' }),
    );
    // Midway, file_read moves from allowed_tools to hard_approval.
    agentDoc.allowed_tools = agentDoc.allowed_tools.filter((t) => t !== 'file_read');
    agentDoc.hard_approval.push('file_read');
    const changed = stringify(agentDoc);
    expect(changed).not.toBe(agentYaml);
    await writeFile(join(dir, 'agent.yaml'), changed);
    const reload = await host.reload('api');
    expect(reload).toMatchObject({ ok: true, changed: true });
    const results = await Promise.all(decisions);
    const after = engine.snapshot!.digest;
    for (let i = 0; i < 10; i++)
      results.push(await client.decide({ domain: 'agent_risk', subject: 'file_read' }));
    expect(results.at(-1)).toMatchObject({
      decision: 'ask',
      evidence: { ruleId: 'agent.hard_approval.file_read', policyDigest: after },
    });
    for (const r of results) expect([before, after]).toContain(r.evidence.policyDigest);

    const { decisions: all, policies } = await recorded();
    const report = replayDecisions(all, policies);
    expect(report.differences).toEqual([]);
    expect(report.reproduced).toBe(all.length);

    // What-if: the previous policy would turn the recent file_read asks back into allows.
    const previous = policies.get(before)!;
    const changes = whatIf(
      all.filter((d) => d.data.evidence.policyDigest === after),
      previous,
    );
    expect(changes.differences.length).toBeGreaterThan(0);
    expect(
      changes.differences.every((d) => d.subject === 'file_read' && d.now.decision === 'allow'),
    ).toBe(true);
  });

  it('detects a recorded decision that its policy does not reproduce', async () => {
    const { decisions, policies } = await recorded();
    const tampered = decisions.map((d, i) =>
      i === 0
        ? {
            ...d,
            data: {
              ...d.data,
              decision: d.data.decision === 'allow' ? ('deny' as const) : ('allow' as const),
            },
          }
        : d,
    );
    const report = replayDecisions(tampered, policies);
    expect(report.differences).toHaveLength(1);
    expect(report.differences[0]!.seq).toBe(decisions[0]!.seq);
  });

  it('records a refused reload and keeps deciding with the previous policy', async () => {
    const digest = engine.snapshot!.digest;
    await writeFile(join(dir, 'policy.yaml'), 'version: 1\ntools: {}\n');
    const result = await host.reload('file_change');
    expect(result.ok).toBe(false);
    expect(engine.snapshot!.digest).toBe(digest);
    const { events } = await engineSide.store.load('policy', 'active');
    expect(events.at(-1)!.event).toMatchObject({
      type: 'policy.load.failed',
      data: { activeDigest: digest, trigger: 'file_change' },
    });
  });
});

describe('fail closed', () => {
  it('denies everything when no valid policy ever loaded', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'secai-nopolicy-'));
    const bare = new PolicyEngine();
    const result = await new PolicyHost(bare, null, empty, log).reload('startup');
    expect(result.ok).toBe(false);
    const outcome = bare.decide({ domain: 'agent_risk', subject: 'file_read' }, 'agent');
    expect(outcome.response).toMatchObject({
      decision: 'deny',
      evidence: { ruleId: 'policy.unavailable', policyDigest: null },
    });
    await rm(empty, { recursive: true, force: true });
  });
});

describe('what-if over NATS (policy-engine.what_if)', () => {
  const file = (name: 'policy.yaml' | 'agent.yaml' | 'mcp.yaml') =>
    readFile(join(DEFAULT_POLICY_DIR, name), 'utf8').then((text) => ({ name, text }));

  it('tries a candidate on recorded inputs for the UI, and records nothing', async () => {
    const gate = await app.client('tool-firewall');
    const client = new PolicyClient(gate.nc, app.pki.signerFor('tool-firewall'), app.pki.trust);
    const allowed = await client.decide({
      domain: 'tool_access',
      subject: 'filesystem.read',
      params: { path: '/vault/user_docs/b.txt' },
    });
    const { decisions } = await recorded();
    const member = decisions.find((d) => d.decisionId === allowed.decisionId)!;
    const policy = await file('policy.yaml');
    // The candidate narrows what filesystem.read may read.
    const candidate = policy.text.replace(
      'paths_allowlist: [/vault/user_docs/**]\n',
      'paths_allowlist: [/vault/user_docs/public/**]\n',
    );
    expect(candidate).not.toBe(policy.text);
    const ui = await app.client('ui');
    const before = await streamBounds(engineSide.jsm, engineSide.store.stream);
    const ask = (files: { name: 'policy.yaml' | 'agent.yaml' | 'mcp.yaml'; text: string }[]) =>
      sendCommand(ui.nc, {
        command: 'policy-engine.what_if',
        signer: app.pki.signerFor('ui'),
        trust: app.pki.trust,
        request: {
          files,
          decisions: [
            { decisionId: member.decisionId, input: member.data.input },
            { decisionId: 'hand-made', input: '{"domain":"tool_access","tool":42}' },
          ],
        },
      });
    const same = await ask([policy, await file('agent.yaml')]);
    expect(same).toMatchObject({
      ok: true,
      results: [
        { decisionId: member.decisionId, decision: 'allow', ruleId: 'tools.allow.filesystem.read' },
        { decision: 'deny' },
      ],
    });
    const changed = await ask([{ name: 'policy.yaml', text: candidate }, await file('agent.yaml')]);
    expect(changed).toMatchObject({
      ok: true,
      results: [
        { decision: 'deny', ruleId: 'tools.allow.filesystem.read.paths_allowlist_miss' },
        { decisionId: 'hand-made', decision: 'deny' },
      ],
    });
    expect((changed as { policyDigest: string }).policyDigest).not.toBe(engine.snapshot!.digest);
    // Still the live policy, and nothing was appended.
    expect(
      await client.allows({
        domain: 'tool_access',
        subject: 'filesystem.read',
        params: { path: '/vault/user_docs/b.txt' },
      }),
    ).toBe(true);
    const after = await streamBounds(engineSide.jsm, engineSide.store.stream);
    expect(after.lastSeq).toBe(before.lastSeq + 1); // the allows() decision above, nothing else
  });

  it('answers POLICY_INVALID for a candidate that does not load, and a non-caller cannot send it', async () => {
    const ui = await app.client('ui');
    const reply = await sendCommand(ui.nc, {
      command: 'policy-engine.what_if',
      signer: app.pki.signerFor('ui'),
      trust: app.pki.trust,
      request: {
        files: [{ name: 'policy.yaml', text: 'tools: [' }],
        decisions: [{ decisionId: 'x', input: '{}' }],
      },
    });
    expect(reply).toMatchObject({ ok: false, code: 'POLICY_INVALID' });
    const outsider = await app.client('tool-firewall');
    await expect(
      sendCommand(outsider.nc, {
        command: 'policy-engine.what_if',
        signer: app.pki.signerFor('tool-firewall'),
        trust: app.pki.trust,
        request: {
          files: [await file('policy.yaml')],
          decisions: [{ decisionId: 'x', input: '{}' }],
        },
        timeoutMs: 1000,
      }),
    ).rejects.toThrow();
  });
});

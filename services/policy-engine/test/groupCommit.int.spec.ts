import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import {
  decisionsIn,
  issueBearerToken,
  verifyEnvelope,
  type DecisionRecord,
  type DecisionRequestData,
  type DecisionResponseData,
  type EventData,
} from '@secai/contracts';
import {
  SigningPool,
  readHistory,
  streamBounds,
  watchBus,
  type BusWatch,
  type Subscription,
} from '@secai/streams';
import { startTestAppliance, type ServiceClient, type TestAppliance } from '@secai/streams/testing';
import {
  DEFAULT_POLICY_DIR,
  MAX_GROUP_DATA_BYTES,
  MAX_GROUP_MEMBERS,
  PolicyClient,
  PolicyEngine,
  PolicyHost,
  buildHttp,
  groupCommitRecorder,
  loadPolicyDir,
  recordedDecisions,
  replayDecisions,
  serveCommands,
  snapshotFromDocuments,
  whatIf,
  type DecisionRecorder,
  type PolicySnapshot,
  type RecordedDecision,
} from '../src/index.js';

// Issue 13 §1: group commit. Decisions arriving together are recorded as one
// `policy.decisions.recorded` (one signature, one acknowledgement), each answer names its own
// member, members replay exactly, and a group that cannot be recorded answers none of its members.

const log = pino({ level: 'silent' });
let app: TestAppliance;
let engineSide: ServiceClient;
let dir: string;
let engine: PolicyEngine;
let host: PolicyHost;
let signing: SigningPool;
let recorder: DecisionRecorder;
let bus: BusWatch;
let http: ReturnType<typeof buildHttp>;
let subs: Subscription[];

beforeAll(async () => {
  app = await startTestAppliance();
  engineSide = await app.client('policy-engine');
  dir = await mkdtemp(join(tmpdir(), 'secai-policy-group-'));
  await cp(DEFAULT_POLICY_DIR, dir, { recursive: true });
  engine = new PolicyEngine();
  host = new PolicyHost(engine, engineSide.store, dir, log);
  expect((await host.reload('startup')).ok).toBe(true);
  signing = await SigningPool.create(app.pki.identities.get('policy-engine')!);
  recorder = groupCommitRecorder(engineSide.js, signing);
  bus = watchBus(engineSide.nc);
  http = buildHttp({ engine, host, recorder, trust: app.pki.trust, bus, log });
  subs = serveCommands(engineSide.nc, {
    engine,
    host,
    recorder,
    signer: engineSide.store.signer,
    trust: engineSide.store.trust,
    log,
  });
});

afterAll(async () => {
  for (const s of subs ?? []) s.unsubscribe();
  bus?.stop();
  await http?.close();
  await signing?.close();
  await app?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const READ: DecisionRequestData = {
  domain: 'tool_access',
  subject: 'filesystem.read',
  params: { path: '/vault/user_docs/report.txt' },
};
const SHELL: DecisionRequestData = { domain: 'tool_access', subject: 'shell.exec' };

const bearer = (service: string) =>
  `Bearer ${issueBearerToken(app.pki.signerFor(service), { audience: 'policy-engine', now: new Date() })}`;

function decideHttp(server: typeof http, body: unknown, url = '/api/v1/decide') {
  return server.inject({
    method: 'POST',
    url,
    headers: { authorization: bearer('tool-firewall'), 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

interface StoredDecisionEvent {
  seq: number;
  id: string;
  type: string;
  causationid: string | undefined;
  bytes: number;
  records: DecisionRecord[];
}

/** Every verified decision event in the stream, and each decision by its address. */
async function stored(): Promise<{
  events: StoredDecisionEvent[];
  byAddress: Map<string, DecisionRecord>;
  decisions: RecordedDecision[];
  policies: Map<string, PolicySnapshot>;
}> {
  const { lastSeq } = await streamBounds(engineSide.jsm, engineSide.store.stream);
  const events: StoredDecisionEvent[] = [];
  const byAddress = new Map<string, DecisionRecord>();
  const decisions: RecordedDecision[] = [];
  const policies = new Map<string, PolicySnapshot>();
  for await (const e of readHistory(engineSide.js, engineSide.jsm, engineSide.store.stream, {
    toSeq: lastSeq,
  })) {
    const { event } = verifyEnvelope(e.bytes, app.pki.trust, {
      natsSubject: e.subject,
      streamSeq: e.seq,
    });
    if (event.type === 'policy.loaded') {
      const data = event.data as EventData<'policy.loaded'>;
      policies.set(data.digest, snapshotFromDocuments(data.documents, data.digest));
    }
    const records = decisionsIn(event);
    if (records.length === 0) continue;
    events.push({
      seq: e.seq,
      id: event.id,
      type: event.type,
      causationid: event.causationid,
      bytes: Buffer.byteLength(JSON.stringify(event.data)),
      records,
    });
    for (const r of records) byAddress.set(r.decisionId, r);
    decisions.push(...recordedDecisions(e.seq, event));
  }
  return { events, byAddress, decisions, policies };
}

/** The answer is exactly the member its `decisionId` names, in the event its `eventId` names. */
function expectRecorded(
  answer: DecisionResponseData,
  byAddress: Map<string, DecisionRecord>,
  caller: string,
): void {
  expect(answer.decisionId).toBeTruthy();
  const member = byAddress.get(answer.decisionId!);
  expect(member, `decision ${answer.decisionId} is in the stream`).toBeDefined();
  expect(member!.eventId).toBe(answer.eventId);
  expect({
    decision: member!.data.decision,
    reason: member!.data.reason,
    evidence: member!.data.evidence,
    caller: member!.data.caller,
  }).toEqual({
    decision: answer.decision,
    reason: answer.reason,
    evidence: answer.evidence,
    caller,
  });
}

describe('group commit over HTTP', () => {
  it('records a batch of one domain as one group event, and each answer resolves to its member', async () => {
    const before = (await stored()).events.length;
    const requests = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? SHELL : READ));
    const res = await decideHttp(http, { requests }, '/api/v1/decide/batch');
    expect(res.statusCode).toBe(200);
    const { results } = res.json<{ results: DecisionResponseData[] }>();
    expect(results.map((r) => r.decision)).toEqual(
      requests.map((r) => (r === SHELL ? 'deny' : 'allow')),
    );
    const { events, byAddress } = await stored();
    // All of them were decided in one turn of the event loop, so they share one event.
    expect(events.length - before).toBe(1);
    const group = events.at(-1)!;
    expect(group.type).toBe('policy.decisions.recorded');
    expect(group.records).toHaveLength(24);
    results.forEach((r, i) => {
      expect(r.eventId).toBe(group.id);
      expect(r.decisionId).toBe(`${group.id}#${i}`);
      expectRecorded(r, byAddress, 'tool-firewall');
    });
  });

  it('answers concurrent decides each with its own recorded member, in fewer events than decisions when they arrive together', async () => {
    const before = await stored();
    const answers = await Promise.all(
      Array.from({ length: 48 }, (_, i) => decideHttp(http, i % 4 === 0 ? SHELL : READ)),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 200));
    const bodies = answers.map((a) => a.json<DecisionResponseData>());
    const { events, byAddress } = await stored();
    for (const b of bodies) expectRecorded(b, byAddress, 'tool-firewall');
    // Every answer names a distinct decision, and no decision was recorded twice.
    expect(new Set(bodies.map((b) => b.decisionId)).size).toBe(48);
    const added = events.slice(before.events.length);
    expect(added.flatMap((e) => e.records)).toHaveLength(48);
    // Arriving together, they cannot each have needed an event of their own (at most two
    // groups are in flight per lane; the rest wait and go out together).
    expect(added.length).toBeLessThan(48);
    // An event holding one decision is a plain policy.decided; a group holds two or more.
    for (const e of added)
      expect(e.type).toBe(e.records.length === 1 ? 'policy.decided' : 'policy.decisions.recorded');
  });

  it('keeps groups within 512 members and 512 KiB of data, and commits every decision', async () => {
    const before = (await stored()).events.length;
    // Long paths make each decision ≈ 4 KiB of input, 640 KiB in all: more than one group's bytes.
    const long = Array.from({ length: 160 }, (_, i) =>
      engine.decide(
        {
          domain: 'tool_access',
          subject: 'filesystem.read',
          params: { path: `/vault/user_docs/${String(i).padStart(4, '0')}${'x'.repeat(4000)}` },
        },
        'tool-firewall',
      ),
    );
    const small = Array.from({ length: 600 }, () => engine.decide(SHELL, 'agent'));
    const at = await Promise.all([...long, ...small].map((o) => recorder.record(o.event)));
    const { events, byAddress } = await stored();
    const added = events.slice(before);
    expect(added.flatMap((e) => e.records)).toHaveLength(760);
    for (const e of added) {
      expect(e.records.length).toBeLessThanOrEqual(MAX_GROUP_MEMBERS);
      expect(e.bytes).toBeLessThanOrEqual(MAX_GROUP_DATA_BYTES);
    }
    // 760 decisions of one lane cannot fit in two groups of ≤ 512 members and ≤ 512 KiB.
    expect(added.length).toBeGreaterThanOrEqual(3);
    [...long, ...small].forEach((o, i) => {
      const member = byAddress.get(at[i]!.decisionId);
      expect(member?.data).toEqual(o.event.data);
      expect(member?.eventId).toBe(at[i]!.eventId);
    });
  });
});

describe('group commit over NATS', () => {
  it('answers concurrent client decides, each naming its recorded member', async () => {
    const gate = await app.client('tool-firewall');
    const client = new PolicyClient(gate.nc, app.pki.signerFor('tool-firewall'), app.pki.trust);
    const answers = await Promise.all(
      Array.from({ length: 32 }, (_, i) => client.decide(i % 2 ? READ : SHELL)),
    );
    const { byAddress } = await stored();
    for (const a of answers) expectRecorded(a, byAddress, 'tool-firewall');
    expect(new Set(answers.map((a) => a.decisionId)).size).toBe(32);
  });
});

describe('replay and what-if of group members', () => {
  it('re-evaluates every member under the policy it cites and reproduces it exactly', async () => {
    const { decisions, policies, events } = await stored();
    const members = decisions.filter((d) => d.decisionId.includes('#'));
    expect(members.length).toBeGreaterThan(0);
    const report = replayDecisions(decisions, policies);
    expect(report.differences).toEqual([]);
    expect(report.checked).toBe(events.flatMap((e) => e.records).length);
    expect(report.reproduced).toBe(report.checked);

    // A member changed after the fact is named by its own address.
    const victim = members[0]!;
    const tampered = decisions.map((d) =>
      d === victim ? { ...d, data: { ...d.data, reason: `${d.data.reason} (edited)` } } : d,
    );
    const diff = replayDecisions(tampered, policies).differences;
    expect(diff.map((d) => d.decisionId)).toEqual([victim.decisionId]);
  });

  it('lists each member a candidate policy would change, by its address', async () => {
    const candidateDir = await mkdtemp(join(tmpdir(), 'secai-policy-candidate-'));
    try {
      await cp(dir, candidateDir, { recursive: true });
      const file = join(candidateDir, 'policy.yaml');
      const doc = parse(await readFile(file, 'utf8')) as {
        tools: { allow: { name: string }[]; deny: { name: string }[] };
      };
      doc.tools.allow = doc.tools.allow.filter((t) => t.name !== 'filesystem.read');
      doc.tools.deny.push({ name: 'filesystem.read' });
      await writeFile(file, stringify(doc));
      const candidate = await loadPolicyDir(candidateDir);
      expect(candidate.ok).toBe(true);
      if (!candidate.ok) return;
      const { decisions } = await stored();
      const reads = decisions.filter(
        (d) => d.data.domain === 'tool_access' && d.data.decision === 'allow',
      );
      const report = whatIf(decisions, candidate.snapshot);
      const changed = new Set(report.differences.map((d) => d.decisionId));
      expect(reads.some((d) => d.decisionId.includes('#'))).toBe(true);
      for (const d of reads) expect(changed.has(d.decisionId), d.decisionId).toBe(true);
    } finally {
      await rm(candidateDir, { recursive: true, force: true });
    }
  });
});

describe('a group that cannot be recorded', () => {
  /** Decides `n` concurrent requests and a batch over HTTP through `failing`; none may pass. */
  async function expectAllRefused(failing: DecisionRecorder): Promise<void> {
    const before = (await stored()).events.length;
    const server = buildHttp({ engine, host, recorder: failing, trust: app.pki.trust, bus, log });
    try {
      const singles = await Promise.all(Array.from({ length: 16 }, () => decideHttp(server, READ)));
      const batch = await decideHttp(
        server,
        { requests: [READ, READ, SHELL] },
        '/api/v1/decide/batch',
      );
      for (const res of [...singles, batch]) {
        expect(res.statusCode).toBe(503);
        expect(res.json<{ code: string }>().code).toBe('DECISION_NOT_RECORDED');
        expect(res.body).not.toContain('"allow"');
      }
    } finally {
      await server.close();
    }

    // The same over NATS: every member of the failed group is refused, and the gate denies.
    for (const s of subs) s.unsubscribe();
    const failingSubs = serveCommands(engineSide.nc, {
      engine,
      host,
      recorder: failing,
      signer: engineSide.store.signer,
      trust: engineSide.store.trust,
      log,
    });
    try {
      const gate = await app.client('agent');
      const client = new PolicyClient(gate.nc, app.pki.signerFor('agent'), app.pki.trust);
      const answers = await Promise.allSettled(
        Array.from({ length: 16 }, () =>
          client.decide({ domain: 'agent_risk', subject: 'file_read' }),
        ),
      );
      for (const a of answers) {
        expect(a.status).toBe('rejected');
        expect((a as PromiseRejectedResult).reason).toMatchObject({ code: 'POLICY_REFUSED' });
      }
      expect(await client.allows({ domain: 'agent_risk', subject: 'file_read' })).toBe(false);
    } finally {
      for (const s of failingSubs) s.unsubscribe();
      subs = serveCommands(engineSide.nc, {
        engine,
        host,
        recorder,
        signer: engineSide.store.signer,
        trust: engineSide.store.trust,
        log,
      });
    }
    expect((await stored()).events.length).toBe(before);
  }

  it('refuses every member when the stream refuses the publish', async () => {
    // A connection that may not publish on the decision subjects: the server refuses each group.
    const outsider = await app.client('tool-firewall');
    await expectAllRefused(groupCommitRecorder(outsider.js, signing));
  });

  it('refuses every member when the group cannot be signed', async () => {
    const closed = await SigningPool.create(app.pki.identities.get('policy-engine')!);
    await closed.close();
    await expectAllRefused(groupCommitRecorder(engineSide.js, closed));
  });
});

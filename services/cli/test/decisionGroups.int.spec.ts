import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { signEvent, type DraftEvent } from '@secai/contracts';
import { TYPE_HEADER, TrustCache, headers as natsHeaders } from '@secai/streams';
import { startTestAppliance, type TestAppliance } from '@secai/streams/testing';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  groupCommitRecorder,
  type RecordedDecisionAt,
} from '@secai/policy-engine';
import { policyReplay, policyWhatIf } from '../src/commands/policy.js';
import { tail } from '../src/commands/tail.js';
import type { CliContext } from '../src/context.js';

// Issue 13 §1 at the operator's side: a group commit (`policy.decisions.recorded`) shows each of
// its decisions on its own line by its address, `secai policy replay` re-evaluates every member,
// and a group signed by anyone but the policy engine is refused, never shown as decisions.

const log = pino({ level: 'silent' });
let app: TestAppliance;
let ctx: CliContext;
let dir: string;
let group: RecordedDecisionAt[];
let single: RecordedDecisionAt;
let forgedSeq: number;

beforeAll(async () => {
  app = await startTestAppliance();
  const cli = await app.client('cli');
  ctx = {
    nc: cli.nc,
    js: cli.js,
    jsm: cli.jsm,
    trust: TrustCache.fixed(app.pki.trust),
    signer: app.pki.signerFor('cli'),
    stream: cli.store.stream,
    httpPorts: {},
    close: async () => {},
  };
  dir = await mkdtemp(join(tmpdir(), 'secai-cli-groups-'));
  await cp(DEFAULT_POLICY_DIR, dir, { recursive: true });
  const side = await app.client('policy-engine');
  const engine = new PolicyEngine();
  expect((await new PolicyHost(engine, side.store, dir, log).reload('startup')).ok).toBe(true);
  const recorder = groupCommitRecorder(side.js, side.store.signer);
  // Decided in one turn: one group of four.
  group = await Promise.all(
    ['filesystem.read', 'shell.exec', 'filesystem.read', 'clock.now'].map((tool) =>
      recorder.record(
        engine.decide(
          { domain: 'tool_access', subject: tool, params: { path: '/vault/user_docs/a.txt' } },
          'agent',
        ).event,
      ),
    ),
  );
  single = await recorder.record(
    engine.decide({ domain: 'agent_risk', subject: 'file_read' }, 'agent').event,
  );

  // A group signed by the tool firewall, stored through the operator's connection (the server
  // would refuse the firewall's own publish on a decision subject): every reader must refuse it.
  const forged: DraftEvent<'policy.decisions.recorded'> = {
    type: 'policy.decisions.recorded',
    aggregateId: 'tool_access',
    data: {
      decisions: [0, 1].map(
        () =>
          engine.decide({ domain: 'tool_access', subject: 'shell.exec' }, 'tool-firewall').event
            .data,
      ),
    },
  };
  forged.data.decisions.forEach((d) => (d.decision = 'allow'));
  const { bytes } = signEvent(forged, app.pki.signerFor('tool-firewall'), { now: new Date() });
  const h = natsHeaders();
  h.set(TYPE_HEADER, forged.type);
  forgedSeq = (await app.admin.js.publish('secai.evt.decision.tool_access', bytes, { headers: h }))
    .seq;
});

afterAll(async () => {
  await app?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('secai events tail', () => {
  it('shows each decision of a group on its own line, by its address', async () => {
    const lines: string[] = [];
    await tail(ctx, { limit: 50 }, (l) => lines.push(...l.split('\n')));
    const groupId = group[0]!.eventId;
    expect(group.map((g) => g.decisionId)).toEqual([0, 1, 2, 3].map((i) => `${groupId}#${i}`));
    for (const { decisionId } of group) {
      const mine = lines.filter((l) => l.includes(`${decisionId} `));
      expect(mine, decisionId).toHaveLength(1);
      expect(mine[0]).toContain('policy.decisions.recorded');
    }
    expect(lines.find((l) => l.includes(`${groupId}#1 `))).toMatch(
      /deny tools\.deny\.shell\.exec \(agent\)/,
    );
    expect(lines.filter((l) => l.includes(`${single.decisionId} `))).toHaveLength(1);
    // The forgery is one refused line, and none of its claimed decisions is shown.
    const forged = lines.filter((l) => l.trimStart().startsWith(`${forgedSeq} `));
    expect(forged).toHaveLength(1);
    expect(forged[0]).toContain('REFUSED TYPE_NOT_AUTHORISED');
    expect(forged[0]).not.toContain('allow');
  });

  it('lists the decisions of each event in --json, one line per event', async () => {
    const rows: { seq: number; verified: boolean; decisions?: { decisionId: string }[] }[] = [];
    await tail(ctx, { limit: 50, json: true }, (l) => rows.push(JSON.parse(l) as never));
    const withGroup = rows.filter((r) => r.decisions?.some((d) => d.decisionId.includes('#')));
    expect(withGroup).toHaveLength(1);
    expect(withGroup[0]!.decisions!.map((d) => d.decisionId)).toEqual(
      group.map((g) => g.decisionId),
    );
    const forged = rows.find((r) => r.seq === forgedSeq);
    expect(forged).toMatchObject({ verified: false });
    expect(forged?.decisions).toBeUndefined();
  });

  it('with --type policy.decided shows the groups too (their members are decisions)', async () => {
    const lines: string[] = [];
    await tail(ctx, { limit: 50, type: 'policy.decided' }, (l) => lines.push(...l.split('\n')));
    for (const { decisionId } of [...group, single])
      expect(lines.some((l) => l.includes(`${decisionId} `))).toBe(true);
    expect(lines.some((l) => l.includes('policy.loaded'))).toBe(false);
  });
});

describe('secai policy replay and what-if', () => {
  it('re-evaluates every member, and skips the forged group as refused', async () => {
    const out: string[] = [];
    await policyReplay(ctx, { json: true }, (l) => out.push(l));
    const report = JSON.parse(out[0]!) as {
      checked: number;
      reproduced: number;
      differences: unknown[];
      refused: number;
    };
    expect(report).toMatchObject({ checked: 5, reproduced: 5, differences: [], refused: 1 });
  });

  it('names each member a candidate policy would change by its address', async () => {
    const candidate = await mkdtemp(join(tmpdir(), 'secai-cli-candidate-'));
    try {
      await cp(dir, candidate, { recursive: true });
      const file = join(candidate, 'policy.yaml');
      const doc = parse(await readFile(file, 'utf8')) as {
        tools: { allow: { name: string }[]; deny: { name: string }[] };
      };
      doc.tools.allow = doc.tools.allow.filter((t) => t.name !== 'filesystem.read');
      doc.tools.deny.push({ name: 'filesystem.read' });
      await writeFile(file, stringify(doc));
      const out: string[] = [];
      await policyWhatIf(ctx, { policy: candidate }, (l) => out.push(l));
      expect(out[0]).toMatch(/5 decisions checked, 3 unchanged, 2 different/);
      for (const i of [0, 2])
        expect(out.some((l) => l.includes(` ${group[i]!.decisionId} tool_access`))).toBe(true);
    } finally {
      await rm(candidate, { recursive: true, force: true });
    }
  });
});

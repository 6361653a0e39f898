import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORT_OFFSET, secai, startBoot, type Booted } from './harness.js';

async function waitForSeal(stateDir: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await secai([
      'events',
      'tail',
      '--state-dir',
      stateDir,
      '--type',
      'audit.checkpoint.sealed',
      '--json',
    ]);
    if (r.code === 0 && r.stdout.trim().length > 0) return;
    if (Date.now() > deadline) throw new Error('no seal appeared');
    await new Promise((res) => setTimeout(res, 200));
  }
}

let dir: string;
let stateDir: string;
let booted: Booted;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-e2e-'));
  stateDir = join(dir, 'state');
  booted = await startBoot(stateDir);
});

afterAll(async () => {
  if (booted?.child.exitCode === null) {
    booted.child.kill('SIGTERM');
    await booted.exit;
  }
  await rm(dir, { recursive: true, force: true });
});

describe('secai boot', () => {
  it('reports every service running, with its port, on first boot', () => {
    const status = JSON.parse(booted.lines.find((l) => l.includes('"state":"running"'))!) as {
      firstBoot: boolean;
      attestation: {
        satisfied: boolean;
        mode: string;
        lastEventId: string | null;
        development: boolean;
      } | null;
      services: { name: string; state: string; port: number }[];
    };
    expect(status.firstBoot).toBe(true);
    // No TPM on this machine: the attestor ran (its event exists) in software mode, which never
    // satisfies the shipped policy, and boot went on in development mode, saying so, as the
    // chosen state it is (not as a failure).
    expect(status.attestation).toMatchObject({
      satisfied: false,
      mode: 'software',
      development: true,
    });
    expect(status.attestation?.lastEventId).toEqual(expect.any(String));
    expect(status.services).toEqual([
      expect.objectContaining({
        name: 'runtime-attestor',
        state: 'running',
        port: 8505 + PORT_OFFSET,
      }),
      expect.objectContaining({
        name: 'policy-engine',
        state: 'running',
        port: 8500 + PORT_OFFSET,
      }),
      expect.objectContaining({
        name: 'incident-recorder',
        state: 'running',
        port: 8515 + PORT_OFFSET,
      }),
      expect.objectContaining({ name: 'registry', state: 'running', port: 8470 + PORT_OFFSET }),
      expect.objectContaining({ name: 'quarantine', state: 'running' }),
      expect.objectContaining({ name: 'inference', state: 'running', port: 8465 + PORT_OFFSET }),
      expect.objectContaining({
        name: 'gpu-integrity-watch',
        state: 'running',
        port: 8495 + PORT_OFFSET,
      }),
      expect.objectContaining({
        name: 'integrity-monitor',
        state: 'running',
        port: 8510 + PORT_OFFSET,
      }),
      expect.objectContaining({
        name: 'tool-firewall',
        state: 'running',
        port: 8475 + PORT_OFFSET,
      }),
      expect.objectContaining({
        name: 'mcp-firewall',
        state: 'running',
        port: 8496 + PORT_OFFSET,
      }),
      expect.objectContaining({ name: 'ui', state: 'running', port: 8480 + PORT_OFFSET }),
    ]);
  });

  it('with --require-attestation, refuses to start the other services on an unattested host', async () => {
    const other = await mkdtemp(join(tmpdir(), 'secai-attest-gate-'));
    try {
      const r = await secai([
        'boot',
        '--state-dir',
        other,
        '--nats-port',
        '0',
        '--port-offset',
        String(PORT_OFFSET + 7),
        '--require-attestation',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('ATTESTATION_UNSATISFIED');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  }, 90_000);

  it('records development mode, and the first incident list has no attestation incident', async () => {
    const declared = await secai([
      'events',
      'tail',
      '--state-dir',
      stateDir,
      '--type',
      'attestation.development_mode.declared',
      '--json',
    ]);
    expect(declared.code).toBe(0);
    expect(declared.stdout.trim().split('\n')).toHaveLength(1);
    const list = await secai([
      'incident',
      'list',
      '--state-dir',
      stateDir,
      '--url',
      `http://127.0.0.1:${8515 + PORT_OFFSET}`,
      '--class',
      'attestation_failure',
      '--json',
    ]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { incidents: unknown[] }).incidents).toEqual([]);
  });

  it('refuses a second boot on the same state dir', async () => {
    const second = await secai(['boot', '--state-dir', stateDir, '--nats-port', '0']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('ALREADY_RUNNING');
  });

  it('serves /health on the recorder port', async () => {
    const res = await fetch(`http://127.0.0.1:${8515 + PORT_OFFSET}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });
});

describe('secai events', () => {
  it('tails decoded, verified events', async () => {
    const r = await secai(['events', 'tail', '--state-dir', stateDir, '--json', '--limit', '500']);
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { verified: boolean; event: { type: string; source: string } });
    expect(rows.every((row) => row.verified)).toBe(true);
    const types = rows.map((row) => row.event.type);
    expect(types).toContain('identity.root.created');
    expect(types.filter((t) => t === 'identity.issued').length).toBeGreaterThanOrEqual(16);
    expect(rows).toContainEqual(
      expect.objectContaining({
        // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- asymmetric matcher
        event: expect.objectContaining({
          type: 'service.started',
          source: 'secai://incident-recorder',
        }),
      }),
    );
  });

  it('shows exactly the last N events with --limit', async () => {
    const r = await secai(['events', 'tail', '--state-dir', stateDir, '--json', '--limit', '3']);
    const seqs = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toHaveLength(3);
    expect(seqs[1]! - seqs[0]!).toBe(1);
    expect(seqs[2]! - seqs[1]!).toBe(1);
  });

  it('verifies the chain, the seals and every signature of the live stream', async () => {
    await waitForSeal(stateDir);
    const chain = await secai(['events', 'verify', '--state-dir', stateDir, '--json']);
    expect(chain.code).toBe(0);
    expect(JSON.parse(chain.stdout)).toMatchObject({ ok: true, failures: [] });
    const full = await secai([
      'events',
      'verify',
      '--state-dir',
      stateDir,
      '--signatures',
      '--json',
    ]);
    expect(full.code).toBe(0);
    expect((JSON.parse(full.stdout) as { seals: number }).seals).toBeGreaterThanOrEqual(1);
  });

  it('exports a sealed bundle that verifies offline, and names the sequence of a tampered line', async () => {
    const bundle = join(dir, 'history.jsonl');
    const exported = await secai([
      'events',
      'export',
      '--state-dir',
      stateDir,
      '--out',
      bundle,
      '--json',
    ]);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ sealedTail: true });
    const ok = await secai([
      'events',
      'verify',
      '--bundle',
      bundle,
      '--state-dir',
      stateDir,
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true });

    const lines = (await readFile(bundle, 'utf8')).split('\n');
    const target = 5; // line index 5 = the fifth event
    const entry = JSON.parse(lines[target]!) as { seq: number; envelope: { payload: string } };
    const doc = JSON.parse(Buffer.from(entry.envelope.payload, 'base64').toString()) as {
      time: string;
    };
    doc.time = '2026-01-01T00:00:00.000Z';
    entry.envelope.payload = Buffer.from(JSON.stringify(doc)).toString('base64');
    const tampered = [...lines];
    tampered[target] = JSON.stringify(entry);
    const altered = join(dir, 'altered.jsonl');
    await writeFile(altered, tampered.join('\n'));
    const bad = await secai([
      'events',
      'verify',
      '--bundle',
      altered,
      '--state-dir',
      stateDir,
      '--json',
    ]);
    expect(bad.code).toBe(1);
    expect(
      (JSON.parse(bad.stdout) as { failures: { seq: number; code: string }[] }).failures,
    ).toContainEqual(expect.objectContaining({ seq: entry.seq, code: 'SIGNATURE_INVALID' }));
    expect(bad.stderr).toContain('VERIFICATION_FAILED');

    const removed = join(dir, 'removed.jsonl');
    await writeFile(removed, lines.filter((_, i) => i !== target).join('\n'));
    const gap = await secai([
      'events',
      'verify',
      '--bundle',
      removed,
      '--state-dir',
      stateDir,
      '--json',
    ]);
    expect(gap.code).toBe(1);
    expect(
      (JSON.parse(gap.stdout) as { failures: { seq: number; code: string }[] }).failures,
    ).toContainEqual(expect.objectContaining({ seq: entry.seq, code: 'SEQUENCE_GAP' }));
  });

  it('replays a projection byte-identically from the stream and from a bundle', async () => {
    const bundle = join(dir, 'replay.jsonl');
    const exported = JSON.parse(
      (await secai(['events', 'export', '--state-dir', stateDir, '--out', bundle, '--json']))
        .stdout,
    ) as { toSeq: number };
    const fromStream = await secai([
      'events',
      'replay',
      '--projection',
      'event-counts',
      '--state-dir',
      stateDir,
      '--to',
      String(exported.toSeq),
    ]);
    const again = await secai([
      'events',
      'replay',
      '--projection',
      'event-counts',
      '--state-dir',
      stateDir,
      '--to',
      String(exported.toSeq),
    ]);
    const fromBundle = await secai([
      'events',
      'replay',
      '--projection',
      'event-counts',
      '--bundle',
      bundle,
    ]);
    expect(fromStream.code).toBe(0);
    expect(fromStream.stdout).toBe(again.stdout);
    expect(fromBundle.stdout).toBe(fromStream.stdout);
    expect(JSON.parse(fromStream.stdout)).toMatchObject({ total: exported.toSeq });
  });

  it('refuses bad input with a coded message and a non-zero exit', async () => {
    const unknown = await secai([
      'events',
      'replay',
      '--projection',
      'nope',
      '--state-dir',
      stateDir,
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('UNKNOWN_PROJECTION');
    const limit = await secai(['events', 'tail', '--limit', 'abc', '--state-dir', stateDir]);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--limit');
    const missing = await secai(['events', 'verify', '--bundle', join(dir, 'absent.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/BUNDLE_UNREADABLE/);
    const nowhere = await secai(['events', 'tail', '--state-dir', join(dir, 'nothing-here')]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain('NOT_RUNNING');
  });

  it('describes every command in --help', async () => {
    const help = await secai(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['boot', 'events']) expect(help.stdout).toContain(word);
    const events = await secai(['events', '--help']);
    for (const word of ['tail', 'verify', 'replay', 'export'])
      expect(events.stdout).toContain(word);
    const exp = await secai(['events', 'export', '--help']);
    for (const word of ['--out', '--from', '--to', '--no-seal', '--state-dir'])
      expect(exp.stdout).toContain(word);
  });
});

describe('secai policy', () => {
  const shipped = resolve(import.meta.dirname, '../../policy-engine/policy');

  it('serves the policy engine health with the active policy digest', async () => {
    const res = await fetch(`http://127.0.0.1:${8500 + PORT_OFFSET}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- asymmetric matcher
      policyDigest: expect.stringMatching(/^sha256:/),
    });
  });

  it('checks a policy directory, and names the key path of a bad one', async () => {
    expect((await secai(['policy', 'check', shipped])).code).toBe(0);
    const bad = join(dir, 'bad-policy');
    await cp(shipped, bad, { recursive: true });
    await writeFile(
      join(bad, 'agent.yaml'),
      (await readFile(join(bad, 'agent.yaml'), 'utf8')).replace('workspace:', 'workspaces:'),
    );
    const r = await secai(['policy', 'check', join(bad, 'agent.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('workspaces');
    expect(r.stderr).toContain('POLICY_INVALID');
  });

  it('decides through the live engine, reloads on a file change, replays and what-ifs the record', async () => {
    const allow = await secai([
      'policy',
      'decide',
      '--state-dir',
      stateDir,
      '--domain',
      'tool_access',
      '--subject',
      'filesystem.read',
      '--path',
      '/vault/user_docs/a.txt',
      '--json',
    ]);
    expect(allow.code).toBe(0);
    expect(JSON.parse(allow.stdout)).toMatchObject({ decision: 'allow' });
    const deny = await secai([
      'policy',
      'decide',
      '--state-dir',
      stateDir,
      '--domain',
      'egress',
      '--subject',
      'https://evil.example/',
    ]);
    expect(deny.stdout).toMatch(/^DENY \(/);

    // The operator edits the live policy: the engine notices the change and records the new policy.
    const live = join(stateDir, 'policy', 'agent.yaml');
    await writeFile(live, (await readFile(live, 'utf8')).replace('  - file_list\n', ''));
    const deadline = Date.now() + 15_000;
    let decision = '';
    while (decision !== 'deny') {
      if (Date.now() > deadline) throw new Error('the engine did not pick up the edited policy');
      await new Promise((r) => setTimeout(r, 200));
      const r = await secai([
        'policy',
        'decide',
        '--state-dir',
        stateDir,
        '--domain',
        'agent_risk',
        '--subject',
        'file_list',
        '--json',
      ]);
      decision = (JSON.parse(r.stdout) as { decision: string }).decision;
    }

    const replay = await secai(['policy', 'replay', '--state-dir', stateDir, '--json']);
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ differences: [] });

    const whatIf = await secai([
      'policy',
      'what-if',
      '--state-dir',
      stateDir,
      '--policy',
      shipped,
      '--json',
    ]);
    expect(whatIf.code).toBe(0);
    const report = JSON.parse(whatIf.stdout) as {
      differences: { subject: string; now: { decision: string } }[];
    };
    expect(report.differences).toContainEqual(
      expect.objectContaining({
        subject: 'file_list',
        // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- asymmetric matcher
        now: expect.objectContaining({ decision: 'allow' }),
      }),
    );
  });
});

describe('secai identity revoke', () => {
  it('revokes a certificate, records identity.revoked, and keeps the history verifiable', async () => {
    const bad = await secai([
      'identity',
      'revoke',
      'nobody',
      '--reason',
      'x',
      '--state-dir',
      stateDir,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('USAGE');
    const r = await secai([
      'identity',
      'revoke',
      'airlock',
      '--reason',
      'e2e drill',
      '--state-dir',
      stateDir,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { effectiveFromSeq: number; eventSeq: number };
    expect(result.eventSeq).toBeGreaterThanOrEqual(result.effectiveFromSeq);
    const tail = await secai([
      'events',
      'tail',
      '--state-dir',
      stateDir,
      '--type',
      'identity.revoked',
      '--json',
    ]);
    expect(tail.stdout).toContain('"service":"airlock"');
    const again = await secai([
      'identity',
      'revoke',
      'airlock',
      '--reason',
      'twice',
      '--state-dir',
      stateDir,
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('REVOCATION_REFUSED');
    const verify = await secai([
      'events',
      'verify',
      '--state-dir',
      stateDir,
      '--signatures',
      '--json',
    ]);
    expect(verify.code).toBe(0);
  });
});

describe('shutdown and the next boot', () => {
  it('stops cleanly on Ctrl-C (SIGINT to the whole process group) and boots again without losing history', async () => {
    const before = await secai([
      'events',
      'tail',
      '--state-dir',
      stateDir,
      '--json',
      '--limit',
      '100000',
    ]);
    const countBefore = before.stdout.trim().split('\n').length;
    process.kill(-booted.child.pid!, 'SIGINT');
    expect(await booted.exit).toBe(0);
    expect(booted.lines.at(-1)).toContain('"state":"stopped"');
    expect(existsSync(join(stateDir, 'run', 'runtime.json'))).toBe(false);
    expect(existsSync(join(stateDir, 'run', 'boot.lock'))).toBe(false);

    booted = await startBoot(stateDir);
    const status = JSON.parse(booted.lines.find((l) => l.includes('"state":"running"'))!) as {
      firstBoot: boolean;
    };
    expect(status.firstBoot).toBe(false);
    const after = await secai([
      'events',
      'tail',
      '--state-dir',
      stateDir,
      '--json',
      '--limit',
      '100000',
    ]);
    const rows = after.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { verified: boolean; event: { type: string } });
    expect(rows.length).toBeGreaterThan(countBefore);
    expect(rows.every((r) => r.verified)).toBe(true);
    expect(rows.filter((r) => r.event.type === 'identity.root.created')).toHaveLength(1);
    // Services stopped before the bus did: each one's service.stopped is in the history.
    const stopped = rows
      .filter((r) => r.event.type === 'service.stopped')
      .map((r) => (r.event as unknown as { source: string }).source);
    for (const s of ['policy-engine', 'incident-recorder', 'appliance'])
      expect(stopped).toContain(`secai://${s}`);
    const verify = await secai([
      'events',
      'verify',
      '--state-dir',
      stateDir,
      '--signatures',
      '--json',
    ]);
    expect(verify.code).toBe(0);
  });
});

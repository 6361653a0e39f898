import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { TrustCache } from '@secai/streams';
import {
  fakeContainmentTarget,
  startTestAppliance,
  waitFor,
  type FakeTarget,
  type TestAppliance,
  recordFreshAttestation,
} from '@secai/streams/testing';
import {
  incidentExport,
  incidentList,
  incidentShow,
  incidentStep,
} from '../src/commands/incident.js';
import type { CliContext } from '../src/context.js';
import { stateOf, startRecorder, type RunningRecorder } from '@secai/incident-recorder';

// `secai incident list|show|resolve|ack|export` (services/cli/src/commands/incident.ts) against a
// live recorder: the gateway over real HTTP, the steps over the signed NATS commands.

const log = pino({ level: 'silent' });
let app: TestAppliance;
let dir: string;
let recorder: RunningRecorder;
let vault: FakeTarget;
let url: string;
let ctx: CliContext;

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-incident-cli-'));
  recorder = await startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'policy'),
    seal: { everyEvents: 100, everyMs: 300 },
    log,
  });
  const address = await recorder.http.listen({ host: '127.0.0.1', port: 0 });
  url = address;
  vault = fakeContainmentTarget(await app.client('appliance'), 'appliance.relock_vault', app.pki);
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
});

afterAll(async () => {
  vault?.stop();
  await recorder?.http.close();
  await recorder?.stop();
  await app?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('secai incident', () => {
  it('lists, shows, refuses an early resolve, resolves after attestation, acknowledges and exports', async () => {
    // An integrity violation of a service binary: integrity_violation, critical, latched.
    const monitor = await app.client('integrity-monitor');
    const { ids } = await monitor.store.append(
      [
        {
          type: 'integrity.violation.detected',
          aggregateId: 'service_binary',
          data: {
            pathClass: 'service_binary',
            path: '/usr/libexec/secai/registry',
            kind: 'modified',
            expected: `sha256:${createHash('sha256').update('a').digest('hex')}`,
            actual: `sha256:${createHash('sha256').update('b').digest('hex')}`,
            severity: 'critical',
          },
        },
      ],
      { expectedSequence: 'any' },
    );
    let id = '';
    await waitFor(() => {
      const found = recorder.book
        .all()
        .find(([, r]) => r.snapshot.context.causeEventIds.includes(ids[0]!));
      id = found?.[0] ?? '';
      return found !== undefined && stateOf(found[1].snapshot) !== 'open';
    }, 20_000);
    // No agent and no airlock are running: the containment failed closed.
    expect(stateOf(recorder.book.get(id)!.snapshot)).toBe('containment_failed');

    const lines: string[] = [];
    const out = (l: string) => lines.push(l);
    await incidentList(ctx, { url, json: true }, out);
    const listed = JSON.parse(lines.pop()!) as { incidents: { id: string; state: string }[] };
    expect(listed.incidents.map((i) => [i.id, i.state])).toEqual([[id, 'containment_failed']]);
    await incidentList(ctx, { url }, out);
    expect(lines.join('\n')).toContain(id);

    lines.length = 0;
    await incidentShow(ctx, id, { url }, out);
    const shown = lines.join('\n');
    expect(shown).toContain('CONTAINMENT_FAILED');
    expect(shown).toMatch(/failed\s+freeze_agent/);
    expect(shown).toMatch(/succeeded force_vault_relock/);
    expect(shown).toContain('incident.containment.failed');

    await expect(incidentStep(ctx, 'resolve', id, { operator: 'alice' }, out)).rejects.toThrow(
      /reattestation_required/,
    );
    await expect(incidentStep(ctx, 'acknowledge', id, { operator: 'alice' }, out)).rejects.toThrow(
      /not_resolved/,
    );
    await recordFreshAttestation(app);
    lines.length = 0;
    await incidentStep(ctx, 'resolve', id, { operator: 'alice', note: 'binary restored' }, out);
    await incidentStep(ctx, 'acknowledge', id, { operator: 'bob', json: true }, out);
    expect(lines).toEqual([
      `${id}: resolved`,
      JSON.stringify({ incidentId: id, state: 'acknowledged' }),
    ]);

    lines.length = 0;
    const file = join(dir, 'incident.jsonl');
    await incidentExport(ctx, id, { url, out: file, json: true }, out);
    const summary = JSON.parse(lines[0]!) as {
      verified: boolean;
      sealed: boolean;
      selected: number;
    };
    expect(summary).toMatchObject({ verified: true, sealed: true });
    // 8 incident events, the violation and the attestation.
    expect(summary.selected).toBe(10);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).split('\n')[0]).toContain(
      '"format":"secai-events-bundle"',
    );
    await expect(incidentExport(ctx, id, { url, out: file }, out)).rejects.toThrow(/cannot write/);
  });
});

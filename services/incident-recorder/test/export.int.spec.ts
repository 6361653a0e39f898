import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { issueBearerToken } from '@secai/contracts';
import { verifyBundle } from '@secai/projections';
import {
  fakeContainmentTarget,
  startTestAppliance,
  waitFor,
  type FakeTarget,
  type TestAppliance,
} from '@secai/streams/testing';
import { stateOf, startRecorder, type RunningRecorder } from '../src/index.js';

// Issue 10 §2: one forged envelope that is empty or spans lines inside an incident's range made
// GET /api/v1/incidents/:id/export answer 500. The forged bytes are evidence: the bundle carries
// them, and the verifier shows them refused at their sequence.

const log = pino({ level: 'silent' });
let app: TestAppliance;
let dir: string;
let recorder: RunningRecorder;
let vault: FakeTarget;

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-export-int-'));
  recorder = await startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'policy'),
    seal: { everyEvents: 100, everyMs: 300 },
    log,
  });
  vault = fakeContainmentTarget(await app.client('appliance'), 'appliance.relock_vault', app.pki);
});

afterAll(async () => {
  vault?.stop();
  await recorder?.stop();
  await app?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const token = (service: string) =>
  `Bearer ${issueBearerToken(app.pki.signerFor(service), { audience: 'incident-recorder', now: new Date() })}`;

describe('incident export over a range holding forged entries', () => {
  it('answers 200 with a bundle that carries the forged bytes, refused at their sequences', async () => {
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
            expected: `sha256:${'0'.repeat(64)}`,
            actual: `sha256:${'1'.repeat(64)}`,
            severity: 'critical',
          },
        },
      ],
      { expectedSequence: 'any' },
    );
    // The attacker (registry's own credentials) publishes on its own subject: after the
    // violation, so the incident's bundle range (up to the seal the export asks for) covers them.
    const attacker = await app.client('registry');
    const empty = (await attacker.js.publish('secai.evt.service.registry', new Uint8Array(0))).seq;
    const newline = (
      await attacker.js.publish('secai.evt.service.registry', Buffer.from('{"a":\n1}\r\n'))
    ).seq;

    let id = '';
    await waitFor(
      () => {
        const found = recorder.book
          .all()
          .find(([, r]) => r.snapshot.context.causeEventIds.includes(ids[0]!));
        id = found?.[0] ?? '';
        return found !== undefined && stateOf(found[1].snapshot) !== 'open';
      },
      20_000,
      'the incident to leave open',
    );

    const res = await recorder.http.inject({
      method: 'GET',
      url: `/api/v1/incidents/${id}/export`,
      headers: { authorization: token('cli') },
    });
    expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
    const file = join(dir, 'incident.jsonl');
    await writeFile(file, res.rawPayload);
    const report = await verifyBundle(file, { expectedRootKeyid: app.pki.trust.rootKeyid });
    expect(report.failures.map(({ seq, code }) => ({ seq, code }))).toEqual([
      { seq: empty, code: 'ENVELOPE_MALFORMED' },
      { seq: newline, code: 'ENVELOPE_MALFORMED' },
    ]);
    expect(report.header.fromSeq).toBeLessThan(empty);
    expect(report.lastSeq).toBe(report.header.toSeq);
    // The seal covers the forged entries and the incident. What other consumers append while the
    // seal is being taken (their refusals of the forged entries, say) can land between the
    // seal's range and the seal event itself, and is then the bundle's unsealed tail: it failed
    // once so on a loaded machine. Only entries after the forged ones may be in it.
    if (report.unsealedTail !== null) {
      expect(report.unsealedTail.fromSeq).toBeGreaterThan(newline);
    }

    // The refused entries are chained like every other: removing one is detected.
    const lines = (await readFile(file, 'utf8')).split('\n');
    const removed = lines.filter((l) => !l.startsWith(`{"seq":${empty},`));
    expect(removed).toHaveLength(lines.length - 1);
    await writeFile(file, removed.join('\n'));
    const tampered = await verifyBundle(file, { expectedRootKeyid: app.pki.trust.rootKeyid });
    expect(tampered.failures.map(({ seq, code }) => ({ seq, code }))).toEqual(
      expect.arrayContaining([
        { seq: empty, code: 'SEQUENCE_GAP' },
        expect.objectContaining({ code: 'CHAIN_MISMATCH' }),
      ]),
    );
  });
});

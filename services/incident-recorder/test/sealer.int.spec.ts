import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { eventSubject, signEvent, type DraftEvent } from '@secai/contracts';
import { createRogueSigner } from '@secai/contracts/testing';
import { verifyHistory } from '@secai/projections';
import {
  TYPE_HEADER,
  headers,
  readHistory,
  sendCommand,
  serveCommand,
  streamBounds,
} from '@secai/streams';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { startSealer, type Sealer } from '../src/index.js';

let app: TestAppliance;
let recorder: ServiceClient;
let sealer: Sealer;
const log = pino({ level: 'silent' });

beforeAll(async () => {
  app = await startTestAppliance();
  recorder = await app.client('incident-recorder');
  sealer = startSealer(recorder, { everyEvents: 5, everyMs: 60_000 }, log);
});
afterAll(async () => {
  await sealer?.stop();
  await app?.cleanup();
});

const changed = (n: number): DraftEvent<'integrity.state.changed'> => ({
  type: 'integrity.state.changed',
  aggregateId: 'sealer-test',
  data: { pathClass: 'policy_file', from: 'ok', to: 'degraded', violationCount: n },
});

async function verifyStream(signatures: boolean) {
  const { lastSeq } = await streamBounds(recorder.jsm, recorder.store.stream);
  const entries = (async function* () {
    for await (const e of readHistory(recorder.js, recorder.jsm, recorder.store.stream, {
      toSeq: lastSeq,
    }))
      yield { seq: e.seq, bytes: e.bytes };
  })();
  return verifyHistory(entries, { trust: app.pki.trust, signatures });
}

describe('audit chain sealer', () => {
  it('seals every N events, and the recomputed chain matches every seal', async () => {
    const monitor = await app.client('integrity-monitor');
    for (let i = 0; i < 12; i++)
      await monitor.store.append([changed(i)], { expectedSequence: 'any' });
    const { lastSeq } = await streamBounds(recorder.jsm, recorder.store.stream);
    const deadline = Date.now() + 30_000; // a bound for a loaded machine
    while (sealer.status().lastSeq < lastSeq || sealer.status().sealedToSeq < 10) {
      if (Date.now() > deadline)
        throw new Error(`sealer stuck at ${JSON.stringify(sealer.status())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const report = await verifyStream(true);
    expect(report.failures).toEqual([]);
    expect(report.seals).toBeGreaterThanOrEqual(2);
    expect(sealer.status().mismatches).toBe(0);
  });

  it('seals the tail on request through the signed seal command', async () => {
    const sub = serveCommand(recorder.nc, {
      command: 'incident-recorder.seal',
      signer: recorder.store.signer,
      trust: recorder.store.trust,
      handle: async (_req, ctx) => ({ ok: true, ...(await sealer.sealNow(ctx.requestId)) }),
    });
    const monitor = await app.client('integrity-monitor');
    const { lastSequence } = await monitor.store.append([changed(99)], { expectedSequence: 'any' });
    const cli = await app.client('cli');
    const reply = await sendCommand(cli.nc, {
      command: 'incident-recorder.seal',
      signer: app.pki.signerFor('cli'),
      trust: app.pki.trust,
      request: { reason: 'test' },
    });
    expect(reply).toMatchObject({ ok: true, toSeq: lastSequence });
    const report = await verifyStream(false);
    expect(report.ok).toBe(true);
    expect(report.unsealedTail).toBeNull();
    sub.unsubscribe();
  });

  it('verification names a forged event in the stream, and the API refuses to remove history', async () => {
    const monitor = await app.client('integrity-monitor');
    const rogue = signEvent(changed(7), createRogueSigner('integrity-monitor'), {
      now: new Date(),
    });
    const h = headers();
    h.set(TYPE_HEADER, 'integrity.state.changed');
    const forged = await monitor.js.publish(eventSubject('integrity', 'sealer-test'), rogue.bytes, {
      headers: h,
    });
    const withSignatures = await verifyStream(true);
    expect(withSignatures.failures).toContainEqual(
      expect.objectContaining({ seq: forged.seq, code: 'KEY_UNKNOWN' }),
    );

    // History cannot be removed through the API, not even by the administrator identity.
    await expect(app.admin.jsm.streams.deleteMessage(recorder.store.stream, 3)).rejects.toThrow();
    const info = await app.admin.jsm.streams.info(recorder.store.stream);
    await expect(
      app.admin.jsm.streams.update(recorder.store.stream, { ...info.config, deny_delete: false }),
    ).rejects.toThrow(/deny message deletes/);
  });

  it('verification catches an event altered on disk in the server store', async () => {
    const monitor = await app.client('integrity-monitor');
    await monitor.store.append([changed(1)], { expectedSequence: 'any' });
    const { lastSeq } = await streamBounds(recorder.jsm, recorder.store.stream);
    await sealer.stop();
    await app.nats.server.stop();
    const dir = join(
      app.nats.dir,
      'jetstream',
      'jetstream',
      '$G',
      'streams',
      recorder.store.stream,
      'msgs',
    );
    const blocks = (await readdir(dir)).filter((f) => f.endsWith('.blk'));
    const block = join(dir, blocks[0]!);
    const bytes = await readFile(block);
    // Flip one character inside the first stored payload after "payload":" (base64 stays valid).
    const at = bytes.indexOf('"payload":"') + '"payload":"'.length + 40;
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    await writeFile(block, bytes);
    await app.nats.restart();
    // The first request after a restart can race the client's reconnect: wait for the bus.
    await waitFor(
      () =>
        streamBounds(recorder.jsm, recorder.store.stream).then(
          () => true,
          () => false,
        ),
      20_000,
      'reconnect',
    );
    const report = await verifyStream(true);
    expect(report.ok).toBe(false);
    expect(report.failures.length).toBeGreaterThan(0);
    expect(report.failures[0]!.seq).toBeLessThanOrEqual(lastSeq);
  });
});

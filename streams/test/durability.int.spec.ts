import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventCountsProjection, renderDocument, replay } from '@secai/projections';
import { verifyEnvelope, type DraftEvent } from '@secai/contracts';
import { hostProjection, readHistory, streamBounds } from '../src/index.js';
import { startTestAppliance, type TestAppliance } from '../src/testing/index.js';

let app: TestAppliance;
beforeAll(async () => {
  app = await startTestAppliance();
});
afterAll(async () => {
  await app?.cleanup();
});

const changed = (aggregateId: string, n: number): DraftEvent<'integrity.state.changed'> => ({
  type: 'integrity.state.changed',
  aggregateId,
  data: { pathClass: 'policy_file', from: 'ok', to: 'degraded', violationCount: n },
});

describe('kill -9 of nats-server during a burst of appends', () => {
  it('keeps every acknowledged event, and the live projection converges to a fresh replay', async () => {
    const monitor = await app.client('integrity-monitor');
    const reader = await app.client('incident-recorder');
    const live = await hostProjection(
      reader.nc,
      reader.js,
      reader.jsm,
      reader.store,
      eventCountsProjection,
      {
        owner: 'incident-recorder',
        checkpointEvery: 50,
      },
    );

    const acknowledged = new Map<number, string>(); // seq -> event id
    let killed = false;
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      let n = 0;
      while (!stop) {
        try {
          const result = await monitor.store.append([changed(`burst-${w}`, n++)], {
            expectedSequence: 'any',
          });
          acknowledged.set(result.lastSequence, `burst-${w}`);
        } catch {
          // Not acknowledged: the server is down. Nothing is claimed about this event.
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    });
    while (acknowledged.size < 400) await new Promise((r) => setTimeout(r, 5));
    await app.nats.server.kill();
    killed = true;
    const ackedBeforeKill = acknowledged.size;
    await app.nats.restart();
    while (acknowledged.size < ackedBeforeKill + 200) await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await Promise.all(writers);
    expect(killed).toBe(true);

    // Every acknowledged event is in the stream, on its aggregate, with a valid signature.
    const stored = new Map<number, string>();
    const { lastSeq } = await streamBounds(reader.jsm, reader.store.stream);
    const events = [];
    for await (const e of readHistory(reader.js, reader.jsm, reader.store.stream, {
      toSeq: lastSeq,
    })) {
      const verified = verifyEnvelope(e.bytes, app.pki.trust, {
        natsSubject: e.subject,
        streamSeq: e.seq,
      });
      stored.set(e.seq, verified.aggregate.id);
      events.push({ seq: e.seq, event: verified.event });
    }
    for (const [seq, aggregate] of acknowledged) expect(stored.get(seq)).toBe(aggregate);

    // The live projection (which lived through the crash) equals a rebuild from scratch.
    await live.caughtUp(lastSeq, 20_000);
    const fresh = await replay(eventCountsProjection, events);
    expect(renderDocument(live.runner.document)).toBe(renderDocument(fresh.document));
    expect(live.runner.lastSeq).toBe(lastSeq);
    await live.stop();

    // And a restarted projection resumes from its checkpoint to the same document.
    const resumed = await hostProjection(
      reader.nc,
      reader.js,
      reader.jsm,
      reader.store,
      eventCountsProjection,
      { owner: 'incident-recorder' },
    );
    await resumed.caughtUp(lastSeq);
    expect(renderDocument(resumed.runner.document)).toBe(renderDocument(fresh.document));
    await resumed.stop();
  });
});

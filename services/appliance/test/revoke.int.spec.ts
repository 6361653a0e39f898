import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvelopeError } from '@secai/contracts';
import { verifyEnvelope, type DraftEvent } from '@secai/contracts';
import { readHistory, runConsumer, streamBounds } from '@secai/streams';
import { startTestAppliance, waitFor, type TestAppliance } from '@secai/streams/testing';
import { loadTrustStore } from '@secai/contracts';
import { revokeIdentity } from '../src/index.js';

let app: TestAppliance;
beforeAll(async () => {
  app = await startTestAppliance();
});
afterAll(async () => {
  await app?.cleanup();
});

const verified = (sha: string): DraftEvent<'model.verified'> => ({
  type: 'model.verified',
  aggregateId: sha,
  data: JSON.parse(
    `{"trigger":"pre_load","expected":"sha256:${sha}","actual":"sha256:${sha}","sizeBytes":1}`,
  ) as never,
});

describe('identity revocation', () => {
  it('refuses events of a revoked key from the cut-off on, everywhere, and keeps earlier history valid', async () => {
    const consumerSide = await app.client('incident-recorder', { liveTrust: true });
    const seen: number[] = [];
    const consumer = await runConsumer(consumerSide.js, consumerSide.jsm, {
      durable: 'incident-recorder-observations',
      filterSubject: 'secai.evt.model.>',
      store: consumerSide.store,
      handler: (_e, meta) => Promise.resolve(void seen.push(meta.seq)),
    });
    const registry = await app.client('registry');
    const before = await registry.store.append([verified('a'.repeat(64))], {
      expectedSequence: 'any',
    });
    await consumer.caughtUp(before.lastSequence);
    expect(seen).toEqual([before.lastSequence]);

    const result = await revokeIdentity(
      app.admin.nc,
      app.admin.jsm,
      app.admin.store,
      app.pki.bundle,
      {
        service: 'registry',
        reason: 'key copied off the appliance',
        now: new Date(),
        persist: () => Promise.resolve(),
      },
    );
    expect(result.keyid).toBe(app.pki.signerFor('registry').keyid);
    await waitFor(
      () => consumerSide.store.trust.revocation(result.keyid) !== undefined,
      30_000, // a bound for a loaded machine, not a performance expectation
      'trust cache update',
    );

    const after = await registry.store.append([verified('b'.repeat(64))], {
      expectedSequence: 'any',
    });
    await consumer.caughtUp(after.lastSequence);
    expect(seen).toEqual([before.lastSequence]);
    const { events } = await consumerSide.store.load('service', 'incident-recorder');
    expect(events.map((e) => e.event.data)).toContainEqual(
      expect.objectContaining({ code: 'CERT_REVOKED', streamSeq: after.lastSequence }),
    );

    // Replaying history with the new bundle: before the cut-off valid, after it refused.
    const trust = await loadTrustStore(result.bundle, { now: new Date() });
    const { lastSeq } = await streamBounds(app.admin.jsm, app.admin.store.stream);
    const outcome = new Map<number, string>();
    for await (const e of readHistory(app.admin.js, app.admin.jsm, app.admin.store.stream, {
      toSeq: lastSeq,
      filterSubject: 'secai.evt.model.>',
    })) {
      try {
        verifyEnvelope(e.bytes, trust, { natsSubject: e.subject, streamSeq: e.seq });
        outcome.set(e.seq, 'ok');
      } catch (err) {
        outcome.set(e.seq, (err as EnvelopeError).code);
      }
    }
    expect(outcome.get(before.lastSequence)).toBe('ok');
    expect(outcome.get(after.lastSequence)).toBe('CERT_REVOKED');
    await consumer.stop();
  });

  it('refuses to revoke the identity that signs revocations', async () => {
    await expect(
      revokeIdentity(app.admin.nc, app.admin.jsm, app.admin.store, app.pki.bundle, {
        service: 'appliance',
        reason: 'x',
        now: new Date(),
        persist: () => Promise.resolve(),
      }),
    ).rejects.toMatchObject({ code: 'REVOCATION_REFUSED' });
  });
});

import { createHash, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IdentityError,
  POLICY_DOMAINS,
  ValidationError,
  eventSubject,
  newEventId,
  signEvent,
  verifyEnvelope,
  type DraftEvent,
  type ServiceIdentity,
} from '@secai/contracts';
import {
  SigningPool,
  SigningPoolError,
  publishSigned,
  readHistory,
  streamBounds,
  type SignedEvent,
} from '../src/index.js';
import { startTestAppliance, type TestAppliance } from '../src/testing/index.js';

// Real worker threads running the compiled worker (`npm run build` first) and a real
// nats-server for `publishSigned`.

let app: TestAppliance;
let identity: ServiceIdentity;
let pool: SigningPool;
beforeAll(async () => {
  app = await startTestAppliance();
  identity = app.pki.identities.get('policy-engine')!;
  // Two threads and small jobs, so batches are split and answered out of order.
  pool = await SigningPool.create(identity, { size: 2, batchSize: 64 });
});
afterAll(async () => {
  await pool?.close();
  await app?.cleanup();
});

const now = new Date('2025-06-01T12:00:00.000Z');
const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

function decided(i: number): DraftEvent<'policy.decided'> {
  const domain = POLICY_DOMAINS[i % POLICY_DOMAINS.length]!;
  const input = JSON.stringify({ domain, path: `/srv/workspace/file-${i}`, tool: 'fs.read' });
  return {
    type: 'policy.decided',
    aggregateId: domain,
    data: {
      caller: 'mcp-firewall',
      domain,
      subject: { digest: sha256(`tool ${i}`), redacted: `fs.read /srv/workspace/file-${i}` },
      action: 'invoke',
      input,
      decision: i % 3 === 0 ? 'deny' : 'allow',
      reason: `decision ${i}`,
      evidence: {
        domain,
        ruleId: 'tools.workspace_allow',
        policyDigest: sha256('policy'),
        inputDigest: sha256(input),
        evaluatedAt: now.toISOString(),
        durationMicros: i,
        trace: [{ ruleId: 'tools.workspace_allow', matched: true, why: `rule ${i}` }],
      },
    },
  };
}

const started = (pid: number): DraftEvent<'service.started'> => ({
  type: 'service.started',
  aggregateId: 'policy-engine',
  data: { service: 'policy-engine', version: '1.0.0', pid, configDigest: sha256('config') },
});

/** Decisions over every domain, with the engine's own `service.started` now and then. */
function mixedDrafts(count: number): DraftEvent[] {
  return Array.from({ length: count }, (_, i) => (i % 37 === 5 ? started(i + 1) : decided(i)));
}

/** The same list with `data` of draft `at` broken (a negative duration). */
function withInvalid(drafts: readonly DraftEvent[], at: number): DraftEvent[] {
  const broken = decided(at);
  broken.data.evidence.durationMicros = -1;
  return drafts.map((draft, i) => (i === at ? broken : draft));
}

/** `decision/egress` → `secai.evt.decision.egress` */
function natsSubjectOf(cloudEventSubject: string): string {
  const [type, id] = cloudEventSubject.split('/') as [string, string];
  return eventSubject(type, id);
}

describe('SigningPool.signBatch', () => {
  it('makes byte for byte what signEvent makes, given the same draft, id and time', async () => {
    const drafts = mixedDrafts(300);
    const ids = drafts.map(() => newEventId(now));
    const meta = { now, ids, correlationId: 'corr-1', causationId: 'cause-1' };
    const signed = await pool.signBatch(drafts, meta);
    const signer = app.pki.signerFor('policy-engine');
    expect(signed).toHaveLength(drafts.length);
    for (const [i, draft] of drafts.entries()) {
      const expected = signEvent(draft, signer, {
        now,
        id: ids[i]!,
        correlationId: 'corr-1',
        causationId: 'cause-1',
      });
      const item = signed[i]!;
      expect(Buffer.from(item.bytes).equals(Buffer.from(expected.bytes))).toBe(true);
      expect(item).toMatchObject({
        id: ids[i],
        type: draft.type,
        natsSubject: natsSubjectOf(expected.event.subject),
      });
    }
  });

  it('gives fresh ids and envelopes that verify, each its own correlation', async () => {
    const drafts = mixedDrafts(200);
    const signed = await pool.signBatch(drafts, { now });
    expect(new Set(signed.map((s) => s.id)).size).toBe(drafts.length);
    for (const [i, draft] of drafts.entries()) {
      const { id, type, natsSubject, bytes } = signed[i]!;
      const { event, signer } = verifyEnvelope(bytes, app.pki.trust, { natsSubject });
      expect(signer.service).toBe('policy-engine');
      expect(event).toMatchObject({
        id,
        type,
        source: expect.stringContaining('policy-engine') as unknown,
        subject: `${draft.type === 'service.started' ? 'service' : 'decision'}/${draft.aggregateId}`,
        time: now.toISOString(),
        correlationid: id,
        data: draft.data,
      });
      expect(event.causationid).toBeUndefined();
      // Deterministic: the same inputs signed on this thread give the same bytes.
      const again = signEvent(draft, app.pki.signerFor('policy-engine'), { now, id });
      expect(Buffer.from(bytes).equals(Buffer.from(again.bytes))).toBe(true);
    }
  });

  it('refuses the whole batch for one invalid draft, before signing anything', async () => {
    const drafts = withInvalid(mixedDrafts(150), 149);
    const signing = pool.signBatch(drafts, { now });
    // Checked before any job was sent to a thread.
    expect(pool.inFlight).toBe(0);
    await expect(signing).rejects.toBeInstanceOf(ValidationError);
    await expect(signing).rejects.toThrow(/draft 149: policy\.decided data is invalid/);

    const unknown = { ...decided(0), type: 'policy.guessed' } as unknown as DraftEvent;
    await expect(pool.signBatch([unknown], { now })).rejects.toBeInstanceOf(ValidationError);
  });

  it('answers an empty batch with nothing, and refuses ids that do not match the drafts', async () => {
    expect(await pool.signBatch([], { now })).toEqual([]);
    await expect(pool.signBatch(mixedDrafts(3), { now, ids: ['a', 'b'] })).rejects.toBeInstanceOf(
      RangeError,
    );
  });
});

describe('publishSigned', () => {
  it('stores every event once, in input order per aggregate, and each verifies', async () => {
    const { js } = await app.client('policy-engine');
    const { admin } = app;
    const stream = admin.store.stream;
    const before = await streamBounds(admin.jsm, stream);
    const drafts = mixedDrafts(1000);

    const result = await publishSigned(js, pool, drafts, { window: 32, now: () => now });

    expect(result.duplicates).toBe(0);
    expect(result.sequences).toHaveLength(drafts.length);
    // One connection, publishes issued in input order: stored in input order.
    expect(result.sequences).toEqual(
      Array.from({ length: drafts.length }, (_, i) => before.lastSeq + 1 + i),
    );
    const after = await streamBounds(admin.jsm, stream);
    expect(after.messages - before.messages).toBe(drafts.length);

    const byAggregate = new Map<string, unknown[]>();
    const ids = new Set<string>();
    let index = 0;
    for await (const entry of readHistory(admin.js, admin.jsm, stream, {
      fromSeq: before.lastSeq + 1,
      toSeq: after.lastSeq,
    })) {
      const { event, signer } = verifyEnvelope(entry.bytes, app.pki.trust, {
        natsSubject: entry.subject,
        streamSeq: entry.seq,
      });
      expect(signer.service).toBe('policy-engine');
      expect(entry.type).toBe(event.type);
      // A copy of an entry keeps its (lazily decoded) type.
      expect({ ...entry }.type).toBe(event.type);
      expect(entry.seq).toBe(result.sequences[index]);
      expect(event.data).toEqual(drafts[index]!.data);
      ids.add(event.id);
      const list = byAggregate.get(event.subject) ?? [];
      list.push(event.data);
      byAggregate.set(event.subject, list);
      index++;
    }
    expect(index).toBe(drafts.length);
    expect(ids.size).toBe(drafts.length);
    // Per aggregate, the stored order is the input order.
    for (const [subject, stored] of byAggregate) {
      const expected = drafts
        .filter(
          (d) =>
            `${d.type === 'service.started' ? 'service' : 'decision'}/${d.aggregateId}` === subject,
        )
        .map((d) => d.data);
      expect(stored).toEqual(expected);
    }
  });

  it('publishes nothing when one draft of any batch is invalid', async () => {
    const { js } = await app.client('policy-engine');
    const { admin } = app;
    const before = await streamBounds(admin.jsm, admin.store.stream);
    // The bad draft sits in the last batch: the earlier ones must not have gone out either.
    const drafts = withInvalid(mixedDrafts(500), 480);
    await expect(publishSigned(js, pool, drafts, { window: 16 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(pool.inFlight).toBe(0);
    expect(await streamBounds(admin.jsm, admin.store.stream)).toEqual(before);
  });
});

describe('SigningPool lifecycle', () => {
  it('refuses a key that is not an Ed25519 private key, in the caller', async () => {
    const publicOnly = { ...identity, privateKey: createPublicKey(identity.privateKey) };
    await expect(SigningPool.create(publicOnly)).rejects.toBeInstanceOf(IdentityError);
  });

  it('refuses work once closed', async () => {
    const single = await SigningPool.create(identity);
    expect(single.size).toBe(1);
    const signed: SignedEvent[] = await single.signBatch(mixedDrafts(5), { now });
    expect(signed).toHaveLength(5);
    await single.close();
    await single.close();
    await expect(single.signBatch(mixedDrafts(5), { now })).rejects.toMatchObject({
      code: 'SIGNER_CLOSED',
    });
    await expect(single.signBatch(mixedDrafts(5), { now })).rejects.toBeInstanceOf(
      SigningPoolError,
    );
  });

  it('rejects a size or batch size that is not a positive integer', async () => {
    await expect(SigningPool.create(identity, { size: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(SigningPool.create(identity, { batchSize: 1.5 })).rejects.toBeInstanceOf(
      RangeError,
    );
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeEnvelope, parseEnvelope, signEvent, type DraftEvent } from '@secai/contracts';
import { standaloneValidatorsSource } from '@secai/contracts/standalone';
import { createRogueSigner, createTestPki, TEST_PKI_EPOCH } from '@secai/contracts/testing';
import {
  loadWebTrustStore,
  setSchemaValidators,
  type SchemaValidators,
} from '@secai/contracts/web';
import { ChainBuilder } from '@secai/projections';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStore, type StoredMessage } from '../web/src/bus/live.js';

// The page's live pipeline over real envelopes: signed by the test PKI's service keys, verified
// by the browser verifier (WebCrypto, the build-time schema validators), folded or refused.

const pki = await createTestPki();
const now = new Date('2026-12-07T12:00:00.000Z');
let dir: string;

beforeAll(async () => {
  // The validators module exactly as the bundle gets it (the Vite plugin serves this source).
  dir = await mkdtemp(join(tmpdir(), 'secai-ui-web-'));
  const file = join(dir, 'validators.mjs');
  await writeFile(file, standaloneValidatorsSource());
  const module = (await import(pathToFileURL(file).href)) as { default: SchemaValidators };
  setSchemaValidators(module.default);
});
afterAll(async () => {
  setSchemaValidators(undefined);
  await rm(dir, { recursive: true, force: true });
});

async function storeWithTrust(): Promise<LiveStore> {
  const store = new LiveStore();
  store.setTrust(
    await loadWebTrustStore(pki.bundle, { now: TEST_PKI_EPOCH, rootKeyid: pki.root.keyid }),
  );
  return store;
}

const started = (service: string): DraftEvent<'service.started'> => ({
  type: 'service.started',
  aggregateId: service,
  data: {
    service: service as 'quarantine',
    version: '1.0.0',
    pid: 42,
    configDigest: `sha256:${'c'.repeat(64)}`,
  },
});

function stored(
  seq: number,
  bytes: Uint8Array,
  subject: string,
  typeHeader?: string,
): StoredMessage {
  return { seq, data: bytes, subject, ...(typeHeader ? { typeHeader } : {}) };
}

function startedMessage(seq: number, service: string): StoredMessage {
  const { bytes } = signEvent(started(service), pki.signerFor(service), { now });
  return stored(seq, bytes, `secai.evt.service.${service}`, 'service.started');
}

describe('the live store', () => {
  it('folds a verified event and keeps forged and tampered ones apart, refused, with what they claim', async () => {
    const store = await storeWithTrust();
    await store.ingest(startedMessage(1, 'quarantine'));

    // A key the root never issued, claiming to be the registry.
    const forged = signEvent(started('registry'), createRogueSigner('registry'), { now }).bytes;
    await store.ingest(stored(2, forged, 'secai.evt.service.registry', 'service.started'));

    // A real registry envelope whose payload was changed after signing.
    const real = parseEnvelope(
      signEvent(started('registry'), pki.signerFor('registry'), { now }).bytes,
    );
    const payload = JSON.parse(Buffer.from(real.payload, 'base64').toString('utf8')) as {
      data: { pid: number };
    };
    payload.data.pid = 4242;
    const tampered = encodeEnvelope({
      ...real,
      payload: Buffer.from(JSON.stringify(payload)).toString('base64'),
    });
    await store.ingest(stored(3, tampered, 'secai.evt.service.registry', 'service.started'));

    const snap = store.snapshot();
    expect(Object.keys(snap.dashboard.services.services)).toEqual(['quarantine']);
    expect(snap.dashboard.verifiedCount).toBe(1);
    expect(snap.events.map((e) => e.seq)).toEqual([1]);
    expect(snap.refused.map((r) => [r.seq, r.code])).toEqual([
      [2, 'KEY_UNKNOWN'],
      [3, 'SIGNATURE_INVALID'],
    ]);
    expect(snap.refused[1]?.claimed).toMatchObject({
      type: 'service.started',
      source: 'secai://registry',
    });
  });

  it('refuses an event stored on another subject than the one it was signed for', async () => {
    const store = await storeWithTrust();
    const { bytes } = signEvent(started('quarantine'), pki.signerFor('quarantine'), { now });
    await store.ingest(stored(1, bytes, 'secai.evt.service.registry', 'service.started'));
    expect(store.snapshot().refused.map((r) => r.code)).toEqual(['SUBJECT_MISMATCH']);
  });

  it('recomputes a seal over the entries on screen: matches, and a wrong head is a mismatch', async () => {
    const store = await storeWithTrust();
    const builder = new ChainBuilder();
    const entries = [1, 2, 3].map((seq) => startedMessage(seq, 'quarantine'));
    for (const entry of entries) {
      await store.ingest(entry);
      builder.append(entry.seq, entry.data);
    }
    const seal = (head: string, seq: number) => {
      const { bytes } = signEvent(
        {
          type: 'audit.checkpoint.sealed',
          aggregateId: 'chain',
          data: { fromSeq: 1, toSeq: 3, count: 3, head, previousHead: '0'.repeat(64) },
        },
        pki.signerFor('incident-recorder'),
        { now },
      );
      return stored(seq, bytes, 'secai.evt.audit.chain', 'audit.checkpoint.sealed');
    };
    await store.ingest(seal(builder.head, 4));
    let snap = store.snapshot();
    expect(snap.seals.map((s) => s.status)).toEqual(['matches']);
    expect(snap.coverage).toMatchObject({
      checkedFrom: 1,
      checkedTo: 3,
      unsealed: 1,
      mismatch: null,
    });
    expect(snap.dashboard.lastSeal).toMatchObject({ toSeq: 3, sealSeq: 4 });

    await store.ingest(seal('1'.repeat(64), 5));
    snap = store.snapshot();
    expect(snap.seals.map((s) => s.status)).toEqual(['matches', 'mismatch']);
    expect(snap.coverage.say).toContain('CHAIN MISMATCH');
  });

  it('keeps entry digests one checked seal back, not for every entry ever read', async () => {
    const store = await storeWithTrust();
    const builder = new ChainBuilder();
    const heads: string[] = [];
    for (let seq = 1; seq <= 6; seq++) {
      const entry = startedMessage(seq, 'quarantine');
      await store.ingest(entry);
      heads[seq] = builder.append(seq, entry.data);
    }
    const seal = (fromSeq: number, toSeq: number, previousHead: string, seq: number) => {
      const { bytes } = signEvent(
        {
          type: 'audit.checkpoint.sealed',
          aggregateId: 'chain',
          data: { fromSeq, toSeq, count: toSeq - fromSeq + 1, head: heads[toSeq]!, previousHead },
        },
        pki.signerFor('incident-recorder'),
        { now },
      );
      return stored(seq, bytes, 'secai.evt.audit.chain', 'audit.checkpoint.sealed');
    };
    // Seals over 1–2 and 3–4 (the seal events themselves, at 7 and 8, are chained after 6).
    await store.ingest(seal(1, 2, '0'.repeat(64), 7));
    await store.ingest(seal(3, 4, heads[2]!, 8));
    // 1–2 is two checked seals back now: a seal over it again can no longer be recomputed.
    await store.ingest(seal(1, 2, '0'.repeat(64), 9));
    expect(store.snapshot().seals.map((s) => s.status)).toEqual([
      'matches',
      'matches',
      'not_on_screen',
    ]);
  });

  it('cannot check a seal whose range began before the window, and says so', async () => {
    const store = await storeWithTrust();
    await store.ingest(startedMessage(10, 'quarantine'));
    const { bytes } = signEvent(
      {
        type: 'audit.checkpoint.sealed',
        aggregateId: 'chain',
        data: {
          fromSeq: 1,
          toSeq: 10,
          count: 10,
          head: 'a'.repeat(64),
          previousHead: '0'.repeat(64),
        },
      },
      pki.signerFor('incident-recorder'),
      { now },
    );
    await store.ingest(stored(11, bytes, 'secai.evt.audit.chain', 'audit.checkpoint.sealed'));
    const snap = store.snapshot();
    expect(snap.seals.map((s) => s.status)).toEqual(['not_on_screen']);
    expect(snap.coverage.checkedTo).toBeNull();
    expect(snap.coverage.say).toContain('could not recompute');
  });
});

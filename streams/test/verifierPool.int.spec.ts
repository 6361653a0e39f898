import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EnvelopeError,
  IdentityError,
  eventSubject,
  loadTrustStore,
  signEvent,
  verifyEnvelope,
  withRevocation,
  type DraftEvent,
  type TrustStore,
} from '@secai/contracts';
import { createRogueSigner, createTestPki, type TestPki } from '@secai/contracts/testing';
import {
  VerifierPool,
  VerifierPoolError,
  type VerifyEntry,
  type VerifyResult,
} from '../src/index.js';
import { compiledExecArgv } from '../src/verifierPool.js';

// Real worker threads running the compiled worker (`npm run build` first); no nats-server needed:
// the envelopes are signed in memory.

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});

const now = new Date('2025-06-01T12:00:00.000Z');
const digest = `sha256:${'ab'.repeat(32)}`;

const changed = (aggregateId: string, n: number): DraftEvent<'integrity.state.changed'> => ({
  type: 'integrity.state.changed',
  aggregateId,
  data: { pathClass: 'policy_file', from: 'ok', to: 'degraded', violationCount: n },
});
const started = (service: string): DraftEvent<'service.started'> => ({
  type: 'service.started',
  aggregateId: service,
  data: { service: service as 'quarantine', version: '1.0.0', pid: 42, configDigest: digest },
});

function subjectOf(bytes: Uint8Array): string {
  const envelope = JSON.parse(Buffer.from(bytes).toString('utf8')) as { payload: string };
  const event = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
    subject: string;
  };
  const [type, id] = event.subject.split('/') as [string, string];
  return eventSubject(type, id);
}

/** Flips one character of the signed payload: the signature no longer matches. */
function tamper(bytes: Uint8Array): Uint8Array {
  const envelope = JSON.parse(Buffer.from(bytes).toString('utf8')) as { payload: string };
  const payload = Buffer.from(envelope.payload, 'base64').toString('utf8');
  const altered = payload.replace('"degraded"', '"critical"').replace('"1.0.0"', '"6.6.6"');
  return Buffer.from(
    JSON.stringify({ ...envelope, payload: Buffer.from(altered).toString('base64') }),
  );
}

/** A mix of every outcome, each kind spread through the list, with seqs out of order. */
function mixedEntries(count: number): { entries: VerifyEntry[] } {
  const monitor = pki.signerFor('integrity-monitor');
  const rogue = createRogueSigner('integrity-monitor');
  const entries: VerifyEntry[] = [];
  for (let i = 0; i < count; i++) {
    // Sequences are not sorted: results must follow the input order, not the seq order.
    const seq = ((i * 7919) % count) + 1;
    const meta = { now: new Date(now.getTime() + i) };
    const kind = i % 9;
    let bytes: Uint8Array;
    let subject: string | undefined;
    switch (kind) {
      case 0:
      case 1:
        bytes = signEvent(changed(`path-${i % 13}`, i), monitor, meta).bytes;
        subject = subjectOf(bytes);
        break;
      case 2: {
        const service = i % 2 === 0 ? 'quarantine' : 'registry';
        bytes = signEvent(started(service), pki.signerFor(service), meta).bytes;
        break;
      }
      case 3:
        bytes = tamper(signEvent(changed('tampered', i), monitor, meta).bytes);
        break;
      case 4:
        bytes = signEvent(changed('rogue', i), rogue, meta).bytes;
        break;
      case 5:
        // Right key, but found on another aggregate's subject.
        bytes = signEvent(changed('here', i), monitor, meta).bytes;
        subject = eventSubject('integrity', 'elsewhere');
        break;
      case 6:
        // Right key, type the signer may not emit.
        bytes = signEvent(changed('forged', i), pki.signerFor('registry'), meta).bytes;
        break;
      case 7:
        bytes = signEvent(changed('invalid', -1), monitor, meta).bytes;
        break;
      default:
        bytes = signEvent(changed('cut', i), monitor, meta).bytes.subarray(0, 40 + (i % 50));
    }
    entries.push(subject === undefined ? { seq, bytes } : { seq, subject, bytes });
  }
  return { entries };
}

/** What one thread calling `verifyEnvelope` directly says about each entry. */
function reference(entries: readonly VerifyEntry[], trust: TrustStore): VerifyResult[] {
  return entries.map(({ seq, subject, bytes }) => {
    try {
      const { event } = verifyEnvelope(
        bytes,
        trust,
        subject === undefined ? { streamSeq: seq } : { natsSubject: subject, streamSeq: seq },
      );
      return { seq, ok: true, type: event.type };
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      return { seq, ok: false, code: error.code };
    }
  });
}

describe('VerifierPool', () => {
  let pool: VerifierPool;
  beforeAll(async () => {
    pool = await VerifierPool.create(pki.bundle, { size: 2, batchSize: 256 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('gives the same results as single-threaded verifyEnvelope, in input order', async () => {
    const { entries } = mixedEntries(2000);
    const expected = reference(entries, pki.trust);
    const results = await pool.verifyBatch(entries);
    expect(results).toEqual(expected);
    expect(results.map((r) => r.seq)).toEqual(entries.map((e) => e.seq));
    // Every outcome of the mix is really there.
    const outcomes = new Set(results.map((r) => (r.ok ? r.type : r.code)));
    expect([...outcomes].sort()).toEqual([
      'ENVELOPE_MALFORMED',
      'KEY_UNKNOWN',
      'SCHEMA_INVALID',
      'SIGNATURE_INVALID',
      'SUBJECT_MISMATCH',
      'TYPE_NOT_AUTHORISED',
      'integrity.state.changed',
      'service.started',
    ]);
  });

  it('keeps the results of concurrent batches apart', async () => {
    const { entries } = mixedEntries(900);
    const expected = reference(entries, pki.trust);
    const slices = [0, 100, 350, 351, 700, 900];
    const batches = slices.slice(1).map((end, k) => entries.slice(slices[k], end));
    const results = await Promise.all(batches.map((batch) => pool.verifyBatch(batch)));
    expect(results.flat()).toEqual(expected);
    expect(pool.inFlight).toBe(0);
  });

  it('answers an empty batch with no results', async () => {
    expect(await pool.verifyBatch([])).toEqual([]);
  });

  it('applies revocation cut-offs by stream sequence', async () => {
    const monitor = pki.signerFor('integrity-monitor');
    const bundle = withRevocation(pki.bundle, {
      keyid: monitor.keyid,
      reason: 'key compromise',
      revokedAt: now.toISOString(),
      effectiveFromSeq: 50,
    });
    const entries = Array.from({ length: 100 }, (_, i) => ({
      seq: i + 1,
      bytes: signEvent(changed('revoked', i), monitor, { now }).bytes,
    }));
    const revokedPool = await VerifierPool.create(bundle, { size: 2, batchSize: 16 });
    try {
      const results = await revokedPool.verifyBatch(entries);
      expect(results).toEqual(reference(entries, await loadTrustStore(bundle, { now })));
      expect(results.filter((r) => r.ok).map((r) => r.seq)).toEqual(
        Array.from({ length: 49 }, (_, i) => i + 1),
      );
      expect(results[49]).toEqual({ seq: 50, ok: false, code: 'CERT_REVOKED' });
    } finally {
      await revokedPool.close();
    }
  });
});

describe('VerifierPool lifecycle', () => {
  it('refuses a bad bundle in the caller, with its IdentityError', async () => {
    const broken = { ...pki.bundle, root: pki.bundle.certificates[0]!.pem };
    await expect(VerifierPool.create(broken, { size: 1 })).rejects.toBeInstanceOf(IdentityError);
  });

  it('refuses work once closed', async () => {
    const pool = await VerifierPool.create(pki.bundle, { size: 1 });
    const { entries } = mixedEntries(10);
    expect(await pool.verifyBatch(entries)).toEqual(reference(entries, pki.trust));
    await pool.close();
    await pool.close();
    await expect(pool.verifyBatch(entries)).rejects.toMatchObject({
      code: 'VERIFIER_CLOSED',
    });
    await expect(pool.verifyBatch(entries)).rejects.toBeInstanceOf(VerifierPoolError);
  });

  it('starts its threads without the source condition (they run compiled code)', () => {
    expect(
      compiledExecArgv([
        '--conditions',
        'source',
        '--conditions',
        'node',
        '-C=source',
        '--conditions=source',
        '--require',
        'x.cjs',
      ]),
    ).toEqual(['--conditions', 'node', '--require', 'x.cjs']);
  });

  it('rejects a size that is not a positive integer', async () => {
    await expect(VerifierPool.create(pki.bundle, { size: 0 })).rejects.toBeInstanceOf(RangeError);
  });
});

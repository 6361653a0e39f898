import { beforeAll, describe, expect, it } from 'vitest';
import { signEvent, type Signer } from '@secai/contracts';
import { verifyHistory, type HistoryEntry, type HistoryReport } from '../src/index.js';
import {
  signedHistory,
  startedEntry,
  timeOf,
  type SealDataLike,
  type SignedHistory,
} from './fixtures.js';

// The seal pre-filter of chain-only verification reads a seal's type where our writer puts it,
// else scans as before. Whatever path an entry takes, a tampered history must still fail and
// every genuine seal must still be checked.
// 40 events with a seal after every 10: seals at 11 (1..10), 22 (11..21), 33 (22..32), 44 (33..43).
let history: SignedHistory;
beforeAll(async () => {
  history = await signedHistory(40, 10);
});

const codes = (report: HistoryReport): { seq: number; code: string }[] =>
  report.failures.map(({ seq, code }) => ({ seq, code }));
const chainOnly = (entries: readonly HistoryEntry[]): Promise<HistoryReport> =>
  verifyHistory(entries, { trust: history.pki.trust, signatures: false });
const replaced = (entries: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] =>
  entries.map((e) => (e.seq === entry.seq ? entry : e));

function sealWithId(signer: Signer, seq: number, data: SealDataLike, id: string): HistoryEntry {
  const { bytes } = signEvent(
    { type: 'audit.checkpoint.sealed', aggregateId: 'chain', data },
    signer,
    {
      now: timeOf(seq),
      id,
    },
  );
  return { seq, bytes };
}

/** Envelope bytes with `payload` (a CloudEvent text) re-encoded in place: a tampered entry. */
function withPayload(bytes: Uint8Array, edit: (payload: string) => string): Uint8Array {
  const envelope = JSON.parse(Buffer.from(bytes).toString('utf8')) as { payload: string };
  const payload = edit(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  envelope.payload = Buffer.from(payload).toString('base64');
  return Buffer.from(JSON.stringify(envelope));
}

const sealData = (_seq: number): SealDataLike => ({
  fromSeq: 33,
  toSeq: 43,
  count: 11,
  head: history.heads[43]!,
  previousHead: history.heads[32]!,
});

describe('chain-only verification with the seal pre-filter', () => {
  it('checks every genuine seal of a clean history', async () => {
    const report = await chainOnly(history.entries);
    expect(report.ok).toBe(true);
    expect(report.seals).toBe(4);
    expect(report.unsealedTail).toBeNull();
  });

  it('checks a genuine seal whose id is too long for the quick path (the scans find it)', async () => {
    const recorder = history.pki.signerFor('incident-recorder');
    const longId = sealWithId(recorder, 44, sealData(44), `long-${'x'.repeat(300)}`);
    const report = await chainOnly(replaced(history.entries, longId));
    expect(report.seals).toBe(4);
    // It re-signs seal 44 with another id: the seal is checked and valid, the chain moves on.
    expect(codes(report)).toEqual([]);
    const escaped = sealWithId(recorder, 44, { ...sealData(44), head: 'f'.repeat(64) }, 'a"b\\c');
    const refused = await chainOnly(replaced(history.entries, escaped));
    expect(codes(refused)).toEqual([{ seq: 44, code: 'CHAIN_MISMATCH' }]);
  });

  it('fails a removed, an altered, an inserted and a reordered event', async () => {
    const removed = await chainOnly(history.entries.filter((e) => e.seq !== 15));
    expect(removed.ok).toBe(false);
    const altered = await chainOnly(
      replaced(history.entries, startedEntry(history.pki.signerFor('registry'), 15)),
    );
    expect(codes(altered)).toEqual([{ seq: 22, code: 'CHAIN_MISMATCH' }]);
    // Inserted: a new event at 15, everything after it one sequence later.
    const inserted = [
      ...history.entries.slice(0, 14),
      startedEntry(history.pki.signerFor('registry'), 15),
      ...history.entries.slice(14).map((e) => ({ seq: e.seq + 1, bytes: e.bytes })),
    ];
    const afterInsert = await chainOnly(inserted);
    expect(afterInsert.ok).toBe(false);
    expect(afterInsert.failures.map((f) => f.code)).toContain('CHAIN_MISMATCH');
    // Reordered: two events' bytes exchanged between their sequences.
    const a = history.entries[13]!;
    const b = history.entries[14]!;
    const reordered = replaced(replaced(history.entries, { seq: a.seq, bytes: b.bytes }), {
      seq: b.seq,
      bytes: a.bytes,
    });
    expect(codes(await chainOnly(reordered))).toEqual([{ seq: 22, code: 'CHAIN_MISMATCH' }]);
  });

  it('fails when a genuine seal is made to look like an event: the next seal does not continue', async () => {
    const seal22 = history.entries[21]!;
    const hidden = withPayload(seal22.bytes, (p) =>
      p.replace('"type":"audit.checkpoint.sealed"', '"type":"service.started"'),
    );
    const report = await chainOnly(replaced(history.entries, { seq: 22, bytes: hidden }));
    expect(report.ok).toBe(false);
    expect(codes(report)).toContainEqual({ seq: 33, code: 'SEAL_DISCONTINUOUS' });
    expect(report.seals).toBe(3);
  });

  it('reports an unsealed tail when the last seal is hidden, as if it had been removed', async () => {
    const seal44 = history.entries[43]!;
    const hidden = withPayload(seal44.bytes, (p) =>
      p.replace('"type":"audit.checkpoint.sealed"', '"type":"service.started"'),
    );
    const report = await chainOnly(replaced(history.entries, { seq: 44, bytes: hidden }));
    const removed = await chainOnly(history.entries.slice(0, 43));
    expect(report.unsealedTail).toEqual({ fromSeq: 33, toSeq: 44, count: 12 });
    expect(removed.unsealedTail).toEqual({ fromSeq: 33, toSeq: 43, count: 11 });
    expect(report.ok && removed.ok).toBe(true);
  });

  it('a seal that hides its type behind a duplicate key is an unverified event, and genuine seals are still checked', async () => {
    // An impostor's seal whose first `type` says service.started (JSON.parse keeps the last).
    const impostor = history.pki.signerFor('quarantine');
    const forged = sealWithId(impostor, 44, sealData(44), 'forged');
    const disguised = withPayload(forged.bytes, (p) =>
      p.replace(
        '"type":"audit.checkpoint.sealed"',
        '"type":"service.started","type":"audit.checkpoint.sealed"',
      ),
    );
    // Appended after the genuine history: chained, never trusted as a seal.
    const report = await chainOnly([...history.entries, { seq: 45, bytes: disguised }]);
    expect(report.seals).toBe(4);
    expect(codes(report)).toEqual([]);
    expect(report.unsealedTail).toEqual({ fromSeq: 44, toSeq: 45, count: 2 });
    // In place of the genuine seal 44, it cannot vouch for anything either.
    const instead = await chainOnly(replaced(history.entries, { seq: 44, bytes: disguised }));
    expect(instead.seals).toBe(3);
    expect(instead.unsealedTail).toEqual({ fromSeq: 33, toSeq: 44, count: 12 });
  });

  it('still refuses a forged seal in our layout (wrong signer), and an event is never a seal', async () => {
    const impostor = history.pki.signerFor('quarantine');
    const forged = sealWithId(impostor, 44, sealData(44), 'forged');
    expect(codes(await chainOnly(replaced(history.entries, forged)))).toEqual([
      { seq: 44, code: 'TYPE_NOT_AUTHORISED' },
    ]);
  });
});

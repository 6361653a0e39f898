import { beforeAll, describe, expect, it } from 'vitest';
import { createRogueSigner } from '@secai/contracts/testing';
import {
  GENESIS_HEAD,
  verifyHistory,
  type HistoryEntry,
  type HistoryReport,
} from '../src/index.js';
import { sealEntry, signedHistory, startedEntry, type SignedHistory } from './fixtures.js';

// 40 events with a seal after every 10: seals at 11 (1..10), 22 (11..21), 33 (22..32), 44 (33..43).
let history: SignedHistory;
beforeAll(async () => {
  history = await signedHistory(40, 10);
});

const codes = (report: HistoryReport): { seq: number; code: string }[] =>
  report.failures.map(({ seq, code }) => ({ seq, code }));

function replaced(entries: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  return entries.map((e) => (e.seq === entry.seq ? entry : e));
}

async function* asynchronously(entries: readonly HistoryEntry[]): AsyncGenerator<HistoryEntry> {
  for (const entry of entries) {
    await Promise.resolve();
    yield entry;
  }
}

describe('verifyHistory on a clean history', () => {
  it('checks the chain and every seal', async () => {
    expect(history.sealSeqs).toEqual([11, 22, 33, 44]);
    const report = await verifyHistory(history.entries, {
      trust: history.pki.trust,
      signatures: false,
    });
    expect(report).toEqual({
      ok: true,
      checked: 44,
      seals: 4,
      firstSeq: 1,
      lastSeq: 44,
      head: history.heads[44],
      failures: [],
      warnings: [],
      unsealedTail: null,
    });
  });

  it('checks every signature too when asked, from an async source', async () => {
    const progress: number[] = [];
    const report = await verifyHistory(asynchronously(history.entries), {
      trust: history.pki.trust,
      signatures: true,
      onProgress: (n) => progress.push(n),
    });
    expect(codes(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(progress.at(-1)).toBe(44);
  });

  it('reports events after the last seal as an unsealed tail, not a failure', async () => {
    const extra = await signedHistory(25, 10, false);
    const report = await verifyHistory(extra.entries, { trust: extra.pki.trust, signatures: true });
    expect(report.ok).toBe(true);
    expect(report.unsealedTail).toEqual({ fromSeq: 22, toSeq: 27, count: 6 });
    expect(report.warnings).toEqual(['seqs 22..27 are chained but not covered by any seal yet']);
  });

  it('verifies a history that starts at a seal boundary (anchored by the seal ending there)', async () => {
    const report = await verifyHistory(history.entries.slice(32), {
      trust: history.pki.trust,
      signatures: true,
      start: { seq: 32, head: history.heads[32]! },
      anchorStart: true,
    });
    expect(codes(report)).toEqual([]);
    expect(report).toMatchObject({ firstSeq: 33, lastSeq: 44, seals: 2, head: history.heads[44] });
  });

  it('verifies a history that starts where a seal window starts (anchored by its previousHead)', async () => {
    const report = await verifyHistory(history.entries.slice(21), {
      trust: history.pki.trust,
      signatures: false,
      start: { seq: 21, head: history.heads[21]! },
      anchorStart: true,
    });
    expect(codes(report)).toEqual([]);
  });

  it('refuses a start no seal vouches for', async () => {
    const report = await verifyHistory(history.entries.slice(25), {
      trust: history.pki.trust,
      signatures: false,
      start: { seq: 25, head: history.heads[25]! },
      anchorStart: true,
    });
    expect(codes(report)).toContainEqual({ seq: 25, code: 'CHAIN_START_UNANCHORED' });
  });
});

describe('verifyHistory on a tampered history', () => {
  it('finds an altered event at the seal covering it, once', async () => {
    const rogue = startedEntry(history.pki.signerFor('registry'), 15);
    const report = await verifyHistory(replaced(history.entries, rogue), {
      trust: history.pki.trust,
      signatures: false,
    });
    expect(codes(report)).toEqual([{ seq: 22, code: 'CHAIN_MISMATCH' }]);
    expect(report.failures[0]?.message).toContain('window 11..21');
  });

  it('refuses a forged seal whose head is wrong', async () => {
    const recorder = history.pki.signerFor('incident-recorder');
    const forged = sealEntry(recorder, 44, {
      fromSeq: 33,
      toSeq: 43,
      count: 11,
      head: 'f'.repeat(64),
      previousHead: history.heads[32]!,
    });
    const report = await verifyHistory(replaced(history.entries, forged), {
      trust: history.pki.trust,
      signatures: true,
    });
    expect(codes(report)).toEqual([{ seq: 44, code: 'CHAIN_MISMATCH' }]);
  });

  it('refuses a seal signed by a service other than the incident recorder, even without signatures', async () => {
    const impostor = history.pki.signerFor('quarantine');
    const seal = sealEntry(impostor, 44, {
      fromSeq: 33,
      toSeq: 43,
      count: 11,
      head: history.heads[43]!,
      previousHead: history.heads[32]!,
    });
    const report = await verifyHistory(replaced(history.entries, seal), {
      trust: history.pki.trust,
      signatures: false,
    });
    expect(codes(report)).toEqual([{ seq: 44, code: 'TYPE_NOT_AUTHORISED' }]);
  });

  it('refuses a seal signed with an unknown key', async () => {
    const seal = sealEntry(createRogueSigner('incident-recorder'), 44, {
      fromSeq: 33,
      toSeq: 43,
      count: 11,
      head: history.heads[43]!,
      previousHead: history.heads[32]!,
    });
    const report = await verifyHistory(replaced(history.entries, seal), {
      trust: history.pki.trust,
      signatures: false,
    });
    expect(codes(report)).toEqual([{ seq: 44, code: 'KEY_UNKNOWN' }]);
    expect(report.unsealedTail).toEqual({ fromSeq: 33, toSeq: 44, count: 12 });
  });

  it('refuses a seal that does not continue the previous one', async () => {
    const recorder = history.pki.signerFor('incident-recorder');
    const skipped = sealEntry(recorder, 44, {
      fromSeq: 34,
      toSeq: 43,
      count: 10,
      head: history.heads[43]!,
      previousHead: history.heads[33]!,
    });
    const report = await verifyHistory(replaced(history.entries, skipped), {
      trust: history.pki.trust,
      signatures: false,
    });
    expect(codes(report)).toEqual([{ seq: 44, code: 'SEAL_DISCONTINUOUS' }]);
  });

  it('refuses a seal over a window that is not before it', async () => {
    const recorder = history.pki.signerFor('incident-recorder');
    const early = sealEntry(recorder, 44, {
      fromSeq: 33,
      toSeq: 44,
      count: 12,
      head: history.heads[43]!,
      previousHead: history.heads[32]!,
    });
    const report = await verifyHistory(replaced(history.entries, early), {
      trust: history.pki.trust,
      signatures: false,
    });
    expect(codes(report)).toEqual([{ seq: 44, code: 'SEAL_INVALID' }]);
  });

  it('chains unreadable bytes without failing them in chain-only mode, and refuses them with signatures', async () => {
    const junk = { seq: 44, bytes: new TextEncoder().encode('not an envelope') };
    const chainOnly = await verifyHistory(replaced(history.entries, junk), {
      trust: history.pki.trust,
      signatures: false,
    });
    expect(codes(chainOnly)).toEqual([]);
    expect(chainOnly.unsealedTail).toEqual({ fromSeq: 33, toSeq: 44, count: 12 });
    const signed = await verifyHistory(replaced(history.entries, junk), {
      trust: history.pki.trust,
      signatures: true,
    });
    expect(codes(signed)).toEqual([{ seq: 44, code: 'ENVELOPE_MALFORMED' }]);
  });

  it('refuses unreadable bytes that claim to be a seal', async () => {
    const junk = { seq: 44, bytes: new TextEncoder().encode('{"type":"audit.checkpoint.sealed"}') };
    const report = await verifyHistory(replaced(history.entries, junk), {
      trust: history.pki.trust,
      signatures: false,
    });
    expect(codes(report)).toEqual([{ seq: 44, code: 'ENVELOPE_MALFORMED' }]);
  });

  it('reports swapped entries as misplaced and still chains them in order', async () => {
    const swapped = [...history.entries];
    [swapped[14], swapped[15]] = [swapped[15]!, swapped[14]!];
    const report = await verifyHistory(swapped, { trust: history.pki.trust, signatures: true });
    expect(codes(report)).toEqual([{ seq: 15, code: 'SEQUENCE_ORDER' }]);
    expect(report.head).toBe(history.heads[44]);
  });

  it('reports each entry of a reversed run that comes after a higher one', async () => {
    const reversed = [...history.entries];
    reversed.splice(14, 3, history.entries[16]!, history.entries[15]!, history.entries[14]!);
    const report = await verifyHistory(reversed, { trust: history.pki.trust, signatures: false });
    expect(codes(report)).toEqual([
      { seq: 15, code: 'SEQUENCE_ORDER' },
      { seq: 16, code: 'SEQUENCE_ORDER' },
    ]);
  });

  it('reports a seal moved before the entries it covers', async () => {
    const moved = [...history.entries];
    const [seal] = moved.splice(21, 1);
    moved.splice(15, 0, seal!);
    const report = await verifyHistory(moved, { trust: history.pki.trust, signatures: false });
    expect(codes(report)).toEqual([{ seq: 16, code: 'SEQUENCE_ORDER' }]);
    expect(report.seals).toBe(4);
  });

  it('reports a removed entry as a gap at its seq and at the seal covering it', async () => {
    const removed = history.entries.filter((e) => e.seq !== 15);
    const report = await verifyHistory(removed, { trust: history.pki.trust, signatures: false });
    expect(codes(report)).toEqual([
      { seq: 15, code: 'SEQUENCE_GAP' },
      { seq: 22, code: 'CHAIN_MISMATCH' },
    ]);
  });

  it('reports a run of removed entries once, naming the first', async () => {
    const removed = history.entries.filter((e) => e.seq < 24 || e.seq > 27);
    const report = await verifyHistory(removed, { trust: history.pki.trust, signatures: false });
    expect(codes(report)).toEqual([
      { seq: 24, code: 'SEQUENCE_GAP' },
      { seq: 33, code: 'CHAIN_MISMATCH' },
    ]);
    expect(report.failures[0]?.message).toBe('seqs 24..27 are missing');
  });

  it('reports an entry repeated later as a duplicate', async () => {
    const repeated = [...history.entries, history.entries[4]!];
    const report = await verifyHistory(repeated, { trust: history.pki.trust, signatures: true });
    expect(codes(report)).toEqual([{ seq: 5, code: 'SEQUENCE_DUPLICATE' }]);
  });

  it('reports entries that are not positive integers', async () => {
    const report = await verifyHistory([{ seq: 0, bytes: new Uint8Array(1) }, ...history.entries], {
      trust: history.pki.trust,
      signatures: false,
    });
    expect(codes(report)).toEqual([{ seq: 0, code: 'SEQUENCE_INVALID' }]);
  });

  it('declares a gap when entries run too far ahead of a missing one, and calls the latecomer misplaced', async () => {
    const long = await signedHistory(1100, 500);
    const late = [...long.entries.slice(0, 9), ...long.entries.slice(10), long.entries[9]!];
    const report = await verifyHistory(late, { trust: long.pki.trust, signatures: false });
    expect(codes(report)).toEqual([
      { seq: 10, code: 'SEQUENCE_GAP' },
      { seq: 10, code: 'SEQUENCE_ORDER' },
      { seq: 501, code: 'CHAIN_MISMATCH' },
    ]);
  });

  it('starts from the genesis head by default', async () => {
    const report = await verifyHistory([], { trust: history.pki.trust, signatures: false });
    expect(report).toEqual({
      ok: true,
      checked: 0,
      seals: 0,
      firstSeq: null,
      lastSeq: null,
      head: GENESIS_HEAD,
      failures: [],
      warnings: [],
      unsealedTail: null,
    });
  });
});

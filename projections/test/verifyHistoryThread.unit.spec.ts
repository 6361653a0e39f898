import { beforeAll, describe, expect, it } from 'vitest';
import { verifyHistory, type HistoryEntry } from '../src/index.js';
import { signedHistory, startedEntry, type SignedHistory } from './fixtures.js';

// Past the point where chain-only verification hands hashing to a worker thread (4096 entries),
// so both paths run: inline for the first entries, the thread for the rest. The thread runs the
// compiled worker (`npm run build`), as the signing and verifier pools do.
let history: SignedHistory;
beforeAll(async () => {
  history = await signedHistory(6000, 500);
}, 60_000);

async function* asynchronously(entries: readonly HistoryEntry[]): AsyncGenerator<HistoryEntry> {
  for (const entry of entries) {
    await Promise.resolve();
    yield entry;
  }
}

const both = async (entries: readonly HistoryEntry[]) => {
  const options = { trust: history.pki.trust, signatures: false };
  const threaded = await verifyHistory(asynchronously(entries), options);
  const inline = await verifyHistory(asynchronously(entries), { ...options, hashThread: false });
  return { threaded, inline };
};

describe('verifyHistory with the hash thread', () => {
  it('verifies a long clean history exactly as inline hashing does', async () => {
    const { threaded, inline } = await both(history.entries);
    expect(threaded).toEqual(inline);
    expect(threaded.ok).toBe(true);
    expect(threaded.checked).toBe(history.entries.length);
    expect(threaded.seals).toBe(history.sealSeqs.length);
    expect(threaded.head).toBe(history.heads.at(-1));
  });

  it('reports an altered, a removed and swapped entries past the thread start as inline does', async () => {
    const entries = history.entries.map((e) => ({ ...e }));
    // Altered: a different (validly signed) event at seq 4500.
    const altered = startedEntry(history.pki.signerFor('registry'), 4500);
    entries[4499] = altered;
    // Swapped: 5000 and 5001.
    [entries[4999], entries[5000]] = [entries[5000]!, entries[4999]!];
    // Removed: 5600.
    entries.splice(5599, 1);
    const { threaded, inline } = await both(entries);
    expect(threaded).toEqual(inline);
    expect(threaded.ok).toBe(false);
    const codes = threaded.failures.map(({ seq, code }) => `${seq} ${code}`);
    expect(codes).toContain('5000 SEQUENCE_ORDER');
    expect(codes).toContain('5600 SEQUENCE_GAP');
    expect(codes.some((c) => c.endsWith('CHAIN_MISMATCH'))).toBe(true);
  });
});

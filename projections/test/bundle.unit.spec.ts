import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelope, parseEnvelope, signEvent } from '@secai/contracts';
import { createRogueSigner } from '@secai/contracts/testing';
import {
  BundleError,
  GENESIS_HEAD,
  bundleEntryLine,
  bundleHeaderLine,
  openBundle,
  parseBundleEntryLine,
  readBundle,
  verifyBundle,
  writeBundle,
  type BundleReport,
  type HistoryEntry,
} from '../src/index.js';
import {
  headerFor,
  linesOf,
  signedHistory,
  startedData,
  startedEntry,
  tempDir,
  timeOf,
  writeRawBundle,
  type SignedHistory,
  type StoredEntry,
} from './fixtures.js';

// 40 events with a seal after every 10: seals at 11 (1..10), 22 (11..21), 33 (22..32), 44 (33..43).
let history: SignedHistory;
let dir: string;
let rootKeyid: string;
beforeAll(async () => {
  history = await signedHistory(40, 10);
  dir = await tempDir();
  rootKeyid = history.pki.trust.rootKeyid;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const codes = (report: BundleReport): { seq: number; code: string }[] =>
  report.failures.map(({ seq, code }) => ({ seq, code }));

let counter = 0;
async function bundleOf(
  lines: readonly Uint8Array[],
  entries: readonly HistoryEntry[] = history.entries,
): Promise<string> {
  counter += 1;
  return writeRawBundle(dir, headerFor(history.pki.bundle, entries), lines, `b${counter}.jsonl`);
}

/** The envelope at `seq` with one field of its payload changed and its signature kept. */
function alteredPayload(seq: number): StoredEntry {
  const entry = history.entries[seq - 1]!;
  const envelope = parseEnvelope(entry.bytes);
  const event = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
    data: { pid: number };
  };
  event.data.pid = 666;
  const payload = Buffer.from(JSON.stringify(event)).toString('base64');
  return { seq, subject: entry.subject, bytes: encodeEnvelope({ ...envelope, payload }) };
}

describe('bundle format', () => {
  it('embeds the stored bytes verbatim in each entry line, after the subject and type header', () => {
    const bytes = Buffer.from('{"payloadType":"x", "odd" :  1}');
    const line = bundleEntryLine({ seq: 42, subject: 'secai.evt.a.b', type: 't.x', bytes });
    expect(line.toString('utf8')).toBe(
      '{"seq":42,"subject":"secai.evt.a.b","type":"t.x","envelope":{"payloadType":"x", "odd" :  1}}\n',
    );
    const parsed = parseBundleEntryLine(line, 2);
    expect(parsed).toMatchObject({
      seq: 42,
      subject: 'secai.evt.a.b',
      type: 't.x',
      encoded: false,
    });
    expect(Buffer.compare(parsed.bytes, bytes)).toBe(0);
    expect(parseBundleEntryLine(line.toString('utf8').trimEnd()).seq).toBe(42);
    const untyped = bundleEntryLine({ seq: 1, subject: 's', bytes });
    expect(untyped.toString('utf8')).toBe(
      `{"seq":1,"subject":"s","envelope":${bytes.toString()}}\n`,
    );
    expect(parseBundleEntryLine(untyped)).not.toHaveProperty('type');
  });

  it('writes the header with its keys in the documented order', () => {
    const header = headerFor(history.pki.bundle, history.entries);
    const line = bundleHeaderLine(header);
    expect(line.endsWith('\n')).toBe(true);
    expect(Object.keys(JSON.parse(line) as object)).toEqual([
      'format',
      'version',
      'exportedAt',
      'stream',
      'fromSeq',
      'toSeq',
      'count',
      'chainStart',
      'trust',
    ]);
    expect(line).toContain('"chainStart":{"seq":0,"head":"' + GENESIS_HEAD + '"}');
  });

  it.each([
    ['another shape', '{"envelope":{},"seq":1}'],
    ['a leading zero', '{"seq":01,"subject":"s","envelope":{}}'],
    ['no seq', '{"seq":,"subject":"s","envelope":{}}'],
    ['no subject (version 2)', '{"seq":1,"envelope":{}}'],
    ['an empty subject', '{"seq":1,"subject":"","envelope":{}}'],
    ['an unterminated subject', '{"seq":1,"subject":"s,"envelope":{}}'],
    ['no envelope', '{"seq":1,"subject":"s","envelope":}'],
    ['no closing brace', '{"seq":1,"subject":"s","envelope":x'],
    ['invalid base64', '{"seq":1,"subject":"s","base64":"a*=="}'],
    ['base64 without its closing quote', '{"seq":1,"subject":"s","base64":"AAAA}'],
    ['an unsafe seq', '{"seq":99999999999999999,"subject":"s","envelope":{}}'],
    ['an empty line', ''],
  ])('refuses an entry line with %s, naming the line', (_, line) => {
    expect(() => parseBundleEntryLine(line, 7)).toThrowError(
      expect.objectContaining({
        code: 'BUNDLE_MALFORMED',
        lineNo: 7,
        message: expect.stringContaining('line 7') as string,
      }) as Error,
    );
  });

  it('refuses to write an invalid seq or an entry without a subject', () => {
    expect(() => bundleEntryLine({ seq: 0, subject: 's', bytes: Buffer.from('{}') })).toThrow(
      BundleError,
    );
    expect(() => bundleEntryLine({ seq: 1, subject: '', bytes: Buffer.from('{}') })).toThrow(
      BundleError,
    );
  });

  it('round-trips every envelope byte for byte through writeBundle and readBundle', async () => {
    const path = join(dir, 'roundtrip.jsonl');
    const header = headerFor(history.pki.bundle, history.entries);
    await writeBundle(path, header, history.entries);
    const read: HistoryEntry[] = [];
    for await (const { lineNo, seq, bytes } of readBundle(path)) {
      expect(lineNo).toBe(seq + 1);
      read.push({ seq, bytes });
    }
    expect(read.length).toBe(history.entries.length);
    read.forEach((entry, i) => {
      expect(entry.seq).toBe(history.entries[i]!.seq);
      expect(Buffer.compare(entry.bytes, history.entries[i]!.bytes)).toBe(0);
    });
    const { header: readHeader, entries } = await openBundle(path);
    expect(readHeader).toEqual(header);
    await entries.return(undefined);
  });

  it('writes nothing when the entries do not match the header', async () => {
    const path = join(dir, 'short.jsonl');
    const header = headerFor(history.pki.bundle, history.entries);
    await expect(writeBundle(path, header, history.entries.slice(0, 10))).rejects.toThrowError(
      expect.objectContaining({ code: 'BUNDLE_MALFORMED' }) as Error,
    );
    await expect(readFile(path)).rejects.toThrow();
  });

  it('refuses a file that is not a bundle, and one that cannot be read', async () => {
    const path = join(dir, 'notabundle.jsonl');
    await writeFile(path, '{"format":"something-else"}\n');
    await expect(verifyBundle(path)).rejects.toThrowError(
      expect.objectContaining({ code: 'BUNDLE_MALFORMED', lineNo: 1 }) as Error,
    );
    await expect(verifyBundle(join(dir, 'missing.jsonl'))).rejects.toThrowError(
      expect.objectContaining({ code: 'BUNDLE_UNREADABLE' }) as Error,
    );
  });

  it('refuses a bundle with a broken entry line, naming the line', async () => {
    const lines = linesOf(history.entries);
    lines[4] = Buffer.from('{"seq":5,"env":{}}\n');
    const path = await bundleOf(lines);
    await expect(verifyBundle(path)).rejects.toThrowError(
      expect.objectContaining({ code: 'BUNDLE_MALFORMED', lineNo: 6 }) as Error,
    );
  });
});

describe('verifyBundle on a clean bundle', () => {
  it('verifies every signature, the chain and the seals, with the root pinned', async () => {
    const path = await bundleOf(linesOf(history.entries));
    const report = await verifyBundle(path, { expectedRootKeyid: rootKeyid });
    expect(codes(report)).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      checked: 44,
      seals: 4,
      firstSeq: 1,
      lastSeq: 44,
      head: history.heads[44],
      warnings: [],
      unsealedTail: null,
      rootKeyid,
      rootPinned: true,
    });
    const chainOnly = await verifyBundle(path, { signatures: false, expectedRootKeyid: rootKeyid });
    expect(chainOnly.ok).toBe(true);
  });

  it('warns when the root is not pinned', async () => {
    const report = await verifyBundle(await bundleOf(linesOf(history.entries)));
    expect(report.ok).toBe(true);
    expect(report.rootPinned).toBe(false);
    expect(report.warnings).toEqual([
      `root ${rootKeyid} is not pinned: the bundle only proves it is consistent with itself`,
    ]);
  });

  it('refuses a bundle under another root', async () => {
    const report = await verifyBundle(await bundleOf(linesOf(history.entries)), {
      expectedRootKeyid: 'ab'.repeat(32),
    });
    expect(codes(report)).toEqual([{ seq: 0, code: 'ROOT_MISMATCH' }]);
    expect(report.rootPinned).toBe(false);
  });

  it('refuses trust material that is not valid at the given time', async () => {
    const path = await bundleOf(linesOf(history.entries));
    const report = await verifyBundle(path, { now: new Date('1999-01-01T00:00:00Z') });
    expect(codes(report)).toEqual([{ seq: 0, code: 'TRUST_INVALID' }]);
    expect(report.rootKeyid).toBe(rootKeyid);
  });

  it('verifies a bundle that starts at a seal boundary', async () => {
    const entries = history.entries.slice(32);
    const path = await writeRawBundle(
      dir,
      headerFor(history.pki.bundle, entries, { seq: 32, head: history.heads[32]! }),
      linesOf(entries),
      'tail.jsonl',
    );
    const report = await verifyBundle(path, { expectedRootKeyid: rootKeyid });
    expect(codes(report)).toEqual([]);
    expect(report).toMatchObject({ firstSeq: 33, lastSeq: 44 });
  });

  it('refuses a chain start that no seal vouches for', async () => {
    const entries = history.entries.slice(25);
    const path = await writeRawBundle(
      dir,
      headerFor(history.pki.bundle, entries, { seq: 25, head: history.heads[25]! }),
      linesOf(entries),
      'unanchored.jsonl',
    );
    const report = await verifyBundle(path, { expectedRootKeyid: rootKeyid });
    expect(codes(report)).toContainEqual({ seq: 25, code: 'CHAIN_START_UNANCHORED' });
  });

  it('refuses a chain that claims to start at seq 0 from another head', async () => {
    const path = await writeRawBundle(
      dir,
      headerFor(history.pki.bundle, history.entries, { seq: 0, head: '1'.repeat(64) }),
      linesOf(history.entries),
      'genesis.jsonl',
    );
    const report = await verifyBundle(path, { expectedRootKeyid: rootKeyid });
    expect(codes(report)).toEqual([
      { seq: 0, code: 'CHAIN_START_UNANCHORED' },
      { seq: 11, code: 'SEAL_DISCONTINUOUS' },
    ]);
  });
});

describe('verifyBundle on a tampered bundle', () => {
  it('finds an altered payload: a bad signature at its seq, a chain mismatch at the covering seal', async () => {
    const lines = linesOf(history.entries);
    lines[14] = bundleEntryLine(alteredPayload(15));
    const path = await bundleOf(lines);
    expect(codes(await verifyBundle(path, { expectedRootKeyid: rootKeyid }))).toEqual([
      { seq: 15, code: 'SIGNATURE_INVALID' },
      { seq: 22, code: 'CHAIN_MISMATCH' },
    ]);
    const chainOnly = await verifyBundle(path, { signatures: false, expectedRootKeyid: rootKeyid });
    expect(codes(chainOnly)).toEqual([{ seq: 22, code: 'CHAIN_MISMATCH' }]);
    expect(chainOnly.failures[0]?.message).toContain('window 11..21');
  });

  it('finds an event re-signed with an unknown key', async () => {
    const lines = linesOf(history.entries);
    const rogue = startedEntry(createRogueSigner('inference'), 15);
    lines[14] = bundleEntryLine({ ...rogue, seq: 15 });
    const report = await verifyBundle(await bundleOf(lines), { expectedRootKeyid: rootKeyid });
    expect(codes(report)).toEqual([
      { seq: 15, code: 'KEY_UNKNOWN' },
      { seq: 22, code: 'CHAIN_MISMATCH' },
    ]);
  });

  it('finds a removed line', async () => {
    const lines = linesOf(history.entries);
    lines.splice(14, 1);
    const path = await bundleOf(lines);
    for (const signatures of [true, false]) {
      expect(codes(await verifyBundle(path, { signatures, expectedRootKeyid: rootKeyid }))).toEqual(
        [
          { seq: 15, code: 'SEQUENCE_GAP' },
          { seq: 22, code: 'CHAIN_MISMATCH' },
        ],
      );
    }
  });

  it('finds a removed last line', async () => {
    const path = await bundleOf(linesOf(history.entries.slice(0, -1)));
    const report = await verifyBundle(path, { expectedRootKeyid: rootKeyid });
    expect(codes(report)).toEqual([{ seq: 44, code: 'SEQUENCE_GAP' }]);
  });

  it('finds two swapped lines', async () => {
    const lines = linesOf(history.entries);
    [lines[14], lines[15]] = [lines[15]!, lines[14]!];
    const path = await bundleOf(lines);
    for (const signatures of [true, false]) {
      const report = await verifyBundle(path, { signatures, expectedRootKeyid: rootKeyid });
      expect(codes(report)).toEqual([{ seq: 15, code: 'SEQUENCE_ORDER' }]);
    }
  });

  it('finds an inserted line that repeats a seq', async () => {
    const lines = linesOf(history.entries);
    lines.splice(15, 0, bundleEntryLine(startedEntry(createRogueSigner('inference'), 15)));
    const path = await bundleOf(lines);
    expect(
      codes(await verifyBundle(path, { signatures: false, expectedRootKeyid: rootKeyid })),
    ).toEqual([{ seq: 15, code: 'SEQUENCE_DUPLICATE' }]);
    expect(codes(await verifyBundle(path, { expectedRootKeyid: rootKeyid }))).toEqual([
      { seq: 15, code: 'SEQUENCE_DUPLICATE' },
      { seq: 15, code: 'KEY_UNKNOWN' },
    ]);
  });

  it('finds an inserted line with a fresh seq, later lines renumbered', async () => {
    const forged = startedEntry(createRogueSigner('inference'), 15);
    const shifted = [
      ...history.entries.slice(0, 14),
      forged,
      ...history.entries.slice(14).map((e) => ({ ...e, seq: e.seq + 1 })),
    ];
    const path = await bundleOf(linesOf(shifted), shifted);
    const report = await verifyBundle(path, { expectedRootKeyid: rootKeyid });
    expect(codes(report)).toContainEqual({ seq: 15, code: 'KEY_UNKNOWN' });
    expect(codes(report)).toContainEqual({ seq: 23, code: 'CHAIN_MISMATCH' });
    const chainOnly = await verifyBundle(path, { signatures: false, expectedRootKeyid: rootKeyid });
    expect(codes(chainOnly)[0]).toEqual({ seq: 23, code: 'CHAIN_MISMATCH' });
  });

  it('finds an inserted line with a fresh seq at the end', async () => {
    const forged = startedEntry(createRogueSigner('inference'), 45);
    const entries = [...history.entries, forged];
    const report = await verifyBundle(await bundleOf(linesOf(entries), entries), {
      expectedRootKeyid: rootKeyid,
    });
    expect(codes(report)).toEqual([{ seq: 45, code: 'KEY_UNKNOWN' }]);
    expect(report.unsealedTail).toEqual({ fromSeq: 44, toSeq: 45, count: 2 });
    const beyondHeader = await verifyBundle(await bundleOf(linesOf(entries)), {
      expectedRootKeyid: rootKeyid,
    });
    expect(codes(beyondHeader)).toEqual([
      { seq: 45, code: 'KEY_UNKNOWN' },
      { seq: 45, code: 'BUNDLE_HEADER_MISMATCH' },
    ]);
  });

  it('refuses a seal signed by another service', async () => {
    const lines = linesOf(history.entries);
    const impostor = signEvent(
      {
        type: 'audit.checkpoint.sealed',
        aggregateId: 'chain',
        data: {
          fromSeq: 33,
          toSeq: 43,
          count: 11,
          head: history.heads[43]!,
          previousHead: history.heads[32]!,
        },
      },
      history.pki.signerFor('quarantine'),
      { now: timeOf(44) },
    );
    lines[43] = bundleEntryLine({
      seq: 44,
      subject: 'secai.evt.audit.chain',
      bytes: impostor.bytes,
    });
    const report = await verifyBundle(await bundleOf(lines), {
      signatures: false,
      expectedRootKeyid: rootKeyid,
    });
    expect(codes(report)).toEqual([{ seq: 44, code: 'TYPE_NOT_AUTHORISED' }]);
  });

  it('keeps the data of untouched events intact (sanity of the fixture)', () => {
    const envelope = parseEnvelope(history.entries[0]!.bytes);
    const event = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
      data: unknown;
    };
    expect(event.data).toEqual(startedData('quarantine'));
  });
});

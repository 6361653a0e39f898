import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki } from '@secai/contracts/testing';
import {
  BundleError,
  ChainBuilder,
  EventIdIndex,
  GENESIS_HEAD,
  bundleEntryLine,
  bundleEntryLineV1,
  openBundle,
  parseBundleEntryLine,
  readBundle,
  verifyBundle,
  verifyHistory,
  writeBundle,
  type BundleReport,
} from '../src/index.js';
import {
  headerFor,
  linesOf,
  sealEntry,
  startedEntry,
  tempDir,
  writeRawBundle,
  type StoredEntry,
  type TestPki,
} from './fixtures.js';

// Issue 10 §2: what one service's credentials let it store, and what forensics must make of it.
// `registry` is the attacker: it may publish any bytes on its own subject.
const OWN = 'secai.evt.service.registry';

let pki: TestPki;
let dir: string;
beforeAll(async () => {
  pki = await createTestPki();
  dir = await tempDir();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Draft = Omit<StoredEntry, 'seq'> & { type?: string };

/** Assigns sequences 1..n as the stream would, and seals everything with a recorder seal. */
function sealedHistory(drafts: readonly Draft[]): StoredEntry[] {
  const chain = new ChainBuilder();
  const entries: StoredEntry[] = drafts.map((d, i) => ({ ...d, seq: i + 1 }));
  for (const e of entries) chain.append(e.seq, e.bytes);
  const seal = sealEntry(pki.signerFor('incident-recorder'), entries.length + 1, {
    fromSeq: 1,
    toSeq: entries.length,
    count: entries.length,
    head: chain.head,
    previousHead: GENESIS_HEAD,
  });
  return [...entries, seal];
}

const started = (service: string, seq = 1): Draft => {
  const { bytes, subject } = startedEntry(pki.signerFor(service), seq);
  return { bytes, subject };
};
const codes = (report: { failures: { seq: number; code: string }[] }) =>
  report.failures.map(({ seq, code }) => ({ seq, code }));

let counter = 0;
async function bundleOf(entries: readonly StoredEntry[]): Promise<string> {
  counter += 1;
  const path = join(dir, `forged${counter}.jsonl`);
  await writeBundle(path, headerFor(pki.bundle, entries), entries);
  return path;
}

const verified = (path: string, signatures = true): Promise<BundleReport> =>
  verifyBundle(path, { signatures, expectedRootKeyid: pki.trust.rootKeyid });

describe('an entry whose bytes cannot stand verbatim in a line', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['spanning lines', Buffer.from('{"payloadType":\n"x"}')],
    ['ending in a carriage return', Buffer.from('{}\r')],
    ['not JSON', Buffer.from('{"a":1} trailing')],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
  ])('is written base64-encoded on one line when %s, and read back byte for byte', (_, bytes) => {
    const line = bundleEntryLine({ seq: 7, subject: OWN, bytes });
    expect(line.indexOf(0x0a)).toBe(line.length - 1);
    expect(JSON.parse(line.toString('utf8'))).toEqual({
      seq: 7,
      subject: OWN,
      base64: bytes.toString('base64'),
    });
    const parsed = parseBundleEntryLine(line, 3);
    expect(parsed).toMatchObject({ seq: 7, subject: OWN, encoded: true });
    expect(Buffer.compare(parsed.bytes, bytes)).toBe(0);
  });

  it('keeps a subject and a type header that need escaping exactly', () => {
    const subject = 'secai.evt.model.a"b\\c';
    const line = bundleEntryLine({ seq: 1, subject, type: 'x"}', bytes: Buffer.alloc(0) });
    expect(parseBundleEntryLine(line)).toMatchObject({ subject, type: 'x"}', encoded: true });
  });
});

describe('verifyBundle over forged entries', () => {
  let entries: StoredEntry[];
  let path: string;
  beforeAll(async () => {
    entries = sealedHistory([
      started('quarantine'),
      { subject: OWN, bytes: Buffer.alloc(0) },
      { subject: OWN, bytes: Buffer.from('{"payloadType":\n"forged"}') },
      started('registry'),
    ]);
    path = await bundleOf(entries);
  });

  it('carries every forged byte and shows each forged entry refused at its sequence, the rest verified', async () => {
    const read = [];
    for await (const e of readBundle(path)) read.push(e);
    expect(read.map((e) => [e.seq, e.encoded])).toEqual([
      [1, false],
      [2, true],
      [3, true],
      [4, false],
      [5, false],
    ]);
    read.forEach((e, i) => expect(Buffer.compare(e.bytes, entries[i]!.bytes)).toBe(0));

    for (const signatures of [true, false]) {
      const report = await verified(path, signatures);
      expect(codes(report)).toEqual([
        { seq: 2, code: 'ENVELOPE_MALFORMED' },
        { seq: 3, code: 'ENVELOPE_MALFORMED' },
      ]);
      expect(report.failures[0]!.message).toMatch(/^refused entry: /);
      expect(report.seals).toBe(1);
      expect(report.lastSeq).toBe(5);
      expect(report.unsealedTail).toBeNull();
    }
  });

  it('detects a forged entry removed from the bundle: the chain covers it', async () => {
    const lines = (await readFile(path)).toString('utf8').split('\n');
    const without = lines.filter((l) => !l.startsWith('{"seq":2,'));
    const tampered = await writeRawBundle(
      dir,
      headerFor(pki.bundle, entries),
      without.slice(1).map((l) => Buffer.from(l ? `${l}\n` : '')),
      'removed.jsonl',
    );
    expect(codes(await verified(tampered))).toEqual([
      { seq: 2, code: 'SEQUENCE_GAP' },
      { seq: 3, code: 'ENVELOPE_MALFORMED' },
      { seq: 5, code: 'CHAIN_MISMATCH' },
    ]);
  });
});

describe('the checks the live consumers apply', () => {
  it('refuses another service’s genuine envelope replayed onto a subject of the attacker’s', async () => {
    const genuine = started('quarantine');
    const entries = sealedHistory([genuine, { ...genuine, subject: OWN }]);
    const path = await bundleOf(entries);
    expect(codes(await verified(path))).toEqual([{ seq: 2, code: 'SUBJECT_MISMATCH' }]);
    // The same bytes over the stream, given their subjects, are refused the same way.
    const report = await verifyHistory(entries, { trust: pki.trust, signatures: true });
    expect(codes(report)).toEqual([{ seq: 2, code: 'SUBJECT_MISMATCH' }]);
  });

  it('refuses an envelope whose type header lies about the signed type', async () => {
    const entries = sealedHistory([
      { ...started('registry'), type: 'service.started' },
      { ...started('registry', 2), type: 'service.heartbeat' },
    ]);
    const path = await bundleOf(entries);
    const report = await verified(path);
    expect(codes(report)).toEqual([{ seq: 2, code: 'ENVELOPE_MALFORMED' }]);
    expect(report.failures[0]!.message).toContain('type header says service.heartbeat');
  });

  it('flags an event stored again with an earlier event’s id, naming where it was first stored', async () => {
    const own = started('registry');
    const entries = sealedHistory([own, started('quarantine', 2), own]);
    const path = await bundleOf(entries);
    const report = await verified(path);
    expect(codes(report)).toEqual([{ seq: 3, code: 'EVENT_ID_DUPLICATE' }]);
    expect(report.failures[0]!.message).toContain('first stored at seq 1');
    // Ids are read from verified events only: chain-only mode does not decode them.
    expect(codes(await verified(path, false))).toEqual([]);
  });

  it('does not count a refused envelope’s id: a replay onto another subject is one finding', async () => {
    const genuine = started('quarantine');
    const entries = sealedHistory([genuine, { ...genuine, subject: OWN }, genuine]);
    const report = await verified(await bundleOf(entries));
    expect(codes(report)).toEqual([
      { seq: 2, code: 'SUBJECT_MISMATCH' },
      { seq: 3, code: 'EVENT_ID_DUPLICATE' },
    ]);
  });
});

describe('a version 1 bundle', () => {
  it('is still read and verified (it carries no subjects, so none is checked)', async () => {
    const entries = sealedHistory([started('quarantine'), started('registry', 2)]);
    const header = { ...headerFor(pki.bundle, entries), version: 1 as const };
    const path = await writeRawBundle(
      dir,
      header,
      entries.map((e) => bundleEntryLineV1(e.seq, e.bytes)),
      'v1.jsonl',
    );
    const { header: read, entries: lines } = await openBundle(path);
    expect(read.version).toBe(1);
    for await (const e of lines) expect(e).not.toHaveProperty('subject');
    const report = await verified(path);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('keeps its own line shape: a version 2 line in a version 1 bundle is malformed', async () => {
    const entries = sealedHistory([started('quarantine')]);
    const header = { ...headerFor(pki.bundle, entries), version: 1 as const };
    const path = await writeRawBundle(dir, header, linesOf(entries), 'mixed.jsonl');
    await expect(verified(path)).rejects.toThrowError(
      expect.objectContaining({ code: 'BUNDLE_MALFORMED', lineNo: 2 }) as Error,
    );
  });
});

describe('a bundle path that is not a regular file', () => {
  it('is refused before anything is read (BUNDLE_NOT_FILE)', async () => {
    const directory = join(dir, 'a-directory.jsonl');
    await mkdir(directory);
    await expect(openBundle(directory)).rejects.toThrowError(BundleError);
    await expect(verifyBundle(directory)).rejects.toThrowError(
      expect.objectContaining({
        code: 'BUNDLE_NOT_FILE',
        message: expect.stringContaining('not a regular file (a directory)') as string,
      }) as Error,
    );
  });
});

describe('EventIdIndex', () => {
  const uuid = (i: number) => `0190a0b0-0000-7000-8000-${i.toString(16).padStart(12, '0')}`;

  it('returns where a UUID was first seen, across growth of its table', () => {
    const index = new EventIdIndex();
    const n = 5000;
    for (let i = 1; i <= n; i += 1) expect(index.firstSeen(uuid(i), i)).toBeNull();
    expect(index.size).toBe(n);
    for (let i = 1; i <= n; i += 1) expect(index.firstSeen(uuid(i), n + i)).toBe(i);
    expect(index.size).toBe(n);
  });

  it('keeps any other id exactly: another case or another form is another id', () => {
    const index = new EventIdIndex();
    const lower = uuid(10);
    expect(index.firstSeen(lower, 1)).toBeNull();
    expect(index.firstSeen(lower.toUpperCase(), 2)).toBeNull();
    expect(index.firstSeen(lower.replaceAll('-', ''), 3)).toBeNull();
    expect(index.firstSeen('not-a-uuid', 4)).toBeNull();
    expect(index.firstSeen(lower.toUpperCase(), 5)).toBe(2);
    expect(index.firstSeen('not-a-uuid', 6)).toBe(4);
    expect(index.size).toBe(4);
  });
});

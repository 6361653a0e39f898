import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  signEvent,
  toCloudEvent,
  type CloudEvent,
  type EventData,
  type ServiceName,
  type Signer,
  type TrustBundle,
} from '@secai/contracts';
import { createTestPki } from '@secai/contracts/testing';
import {
  ChainBuilder,
  GENESIS_HEAD,
  bundleEntryLine,
  bundleHeaderLine,
  type BundleHeader,
  type HistoryEntry,
} from '../src/index.js';

export const T0 = Date.UTC(2025, 0, 1);
export const timeOf = (seq: number): Date => new Date(T0 + seq * 1000);
export const SERVICES_IN_HISTORY = ['quarantine', 'registry', 'inference', 'airlock'] as const;
export const CONFIG_DIGEST = `sha256:${'a'.repeat(64)}`;

export function startedData(service: string): EventData<'service.started'> {
  // Test signers come from the test PKI, which issues identities for known services only.
  return {
    service: service as ServiceName,
    version: '0.0.0',
    pid: 123,
    configDigest: CONFIG_DIGEST,
  };
}

/** What a bundle or the stream gives: every fixture entry carries the subject it is stored on. */
export type StoredEntry = HistoryEntry & { subject: string };

/** A `service.started` envelope from `signer`'s service, stamped for `seq`. */
export function startedEntry(signer: Signer, seq: number): StoredEntry {
  const { bytes } = signEvent(
    { type: 'service.started', aggregateId: signer.service, data: startedData(signer.service) },
    signer,
    { now: timeOf(seq) },
  );
  return { seq, bytes, subject: `secai.evt.service.${signer.service}` };
}

export interface SealDataLike {
  fromSeq: number;
  toSeq: number;
  count: number;
  head: string;
  previousHead: string;
}

export function sealEntry(signer: Signer, seq: number, data: SealDataLike): StoredEntry {
  const { bytes } = signEvent(
    { type: 'audit.checkpoint.sealed', aggregateId: 'chain', data },
    signer,
    {
      now: timeOf(seq),
    },
  );
  return { seq, bytes, subject: 'secai.evt.audit.chain' };
}

export type TestPki = Awaited<ReturnType<typeof createTestPki>>;

export interface SignedHistory {
  pki: TestPki;
  entries: StoredEntry[];
  /** Sequences of the seals, in order. */
  sealSeqs: number[];
  /** Head after every sequence (index = seq; index 0 is genesis). */
  heads: string[];
}

/**
 * `events` non-seal events (service.started round-robin over four services) with a seal by the
 * incident recorder after every `sealEvery` of them, sequences 1..n as a stream would assign,
 * each seal covering everything since the previous one.
 */
export async function signedHistory(
  events: number,
  sealEvery: number,
  sealTail = true,
): Promise<SignedHistory> {
  const pki = await createTestPki();
  const recorder = pki.signerFor('incident-recorder');
  const chain = new ChainBuilder();
  const entries: StoredEntry[] = [];
  const sealSeqs: number[] = [];
  const heads = [GENESIS_HEAD];
  let sealedTo = 0;
  let sealedHead = GENESIS_HEAD;
  let sinceSeal = 0;
  const push = (entry: StoredEntry): void => {
    entries.push(entry);
    heads.push(chain.append(entry.seq, entry.bytes));
  };
  const seal = (): void => {
    const seq = chain.lastSeq + 1;
    const data = {
      fromSeq: sealedTo + 1,
      toSeq: chain.lastSeq,
      count: chain.lastSeq - sealedTo,
      head: chain.head,
      previousHead: sealedHead,
    };
    push(sealEntry(recorder, seq, data));
    sealSeqs.push(seq);
    sealedTo = data.toSeq;
    sealedHead = data.head;
    sinceSeal = 0;
  };
  for (let i = 0; i < events; i += 1) {
    const service = SERVICES_IN_HISTORY[i % SERVICES_IN_HISTORY.length] ?? 'quarantine';
    push(startedEntry(pki.signerFor(service), chain.lastSeq + 1));
    sinceSeal += 1;
    if (sinceSeal === sealEvery) seal();
  }
  if (sealTail && sinceSeal > 0) seal();
  return { pki, entries, sealSeqs, heads };
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'secai-projections-'));
}

export function headerFor(
  trust: TrustBundle,
  entries: readonly HistoryEntry[],
  chainStart: { seq: number; head: string } = { seq: 0, head: GENESIS_HEAD },
): BundleHeader {
  return {
    format: 'secai-events-bundle',
    version: 2,
    exportedAt: new Date(T0 + 86_400_000).toISOString(),
    stream: 'SECAI_EVENTS',
    fromSeq: chainStart.seq + 1,
    toSeq: chainStart.seq + entries.length,
    count: entries.length,
    chainStart,
    trust,
  };
}

/** Writes header + lines as given (no checks), so tests can write tampered bundles. */
export async function writeRawBundle(
  dir: string,
  header: BundleHeader,
  lines: readonly Uint8Array[],
  name = 'bundle.jsonl',
): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, Buffer.concat([Buffer.from(bundleHeaderLine(header)), ...lines]));
  return path;
}

export function linesOf(entries: readonly StoredEntry[]): Buffer[] {
  return entries.map((entry) => bundleEntryLine(entry));
}

/** A CloudEvent as a projection would receive it. */
export function cloudEvent(
  service: string,
  type: 'service.started' | 'service.stopped' | 'service.failed',
  data: Record<string, unknown>,
  seq: number,
): CloudEvent {
  const draft = {
    type,
    aggregateId: type === 'service.failed' ? String(data.service) : service,
    data,
  } as Parameters<typeof toCloudEvent>[0];
  return toCloudEvent(draft, service, {
    now: timeOf(seq),
    id: `0190a0b0-0000-7000-8000-${String(seq).padStart(12, '0')}`,
  });
}

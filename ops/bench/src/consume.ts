import {
  readHistory,
  type JetStreamClient,
  type JetStreamManager,
  type StoredEntry,
  type VerifierPool,
  type VerifyEntry,
  type VerifyResult,
} from '@secai/streams';
import { EnvelopeError, verifyEnvelope, type TrustStore } from '@secai/contracts';
import { verifyHistory, type HistoryReport } from '@secai/projections';
import { nowNs, secondsSince } from './stats.js';

export interface Range {
  fromSeq: number;
  toSeq: number;
}

export interface ConsumeRun {
  seconds: number;
  read: number;
  verified: number;
  refused: number;
}

function history(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  range: Range,
): AsyncGenerator<StoredEntry> {
  return readHistory(js, jsm, stream, range);
}

/** Reading alone (ordered consumer, no verification): the ceiling of the two measures below. */
export async function readOnly(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  range: Range,
): Promise<ConsumeRun> {
  const start = nowNs();
  let read = 0;
  let bytes = 0;
  for await (const entry of history(js, jsm, stream, range)) {
    read++;
    bytes += entry.bytes.length;
  }
  if (bytes === 0) throw new Error('nothing was read');
  return { seconds: secondsSince(start), read, verified: 0, refused: 0 };
}

/** (c) Read and verify every envelope on this thread, as a consumer does. */
export async function verifySingle(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  range: Range,
  trust: TrustStore,
): Promise<ConsumeRun> {
  const start = nowNs();
  let read = 0;
  let verified = 0;
  let refused = 0;
  for await (const { seq, subject, bytes } of history(js, jsm, stream, range)) {
    read++;
    try {
      verifyEnvelope(bytes, trust, { natsSubject: subject, streamSeq: seq });
      verified++;
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      refused++;
    }
  }
  return { seconds: secondsSince(start), read, verified, refused };
}

/**
 * (c) Read on this thread, verify on the pool: batches of `batchSize` go out as they fill, at most
 * `maxInFlight` at a time, and results are taken in order.
 */
export async function verifyPooled(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  range: Range,
  pool: VerifierPool,
  batchSize: number,
  maxInFlight: number,
): Promise<ConsumeRun> {
  const start = nowNs();
  let read = 0;
  let verified = 0;
  let refused = 0;
  const inFlight: Promise<VerifyResult[]>[] = [];
  const settle = async () => {
    for (const result of await inFlight.shift()!) {
      if (result.ok) verified++;
      else refused++;
    }
  };
  let batch: VerifyEntry[] = [];
  for await (const { seq, subject, bytes } of history(js, jsm, stream, range)) {
    read++;
    batch.push({ seq, subject, bytes });
    if (batch.length === batchSize) {
      inFlight.push(pool.verifyBatch(batch));
      batch = [];
      if (inFlight.length >= maxInFlight) await settle();
    }
  }
  if (batch.length > 0) inFlight.push(pool.verifyBatch(batch));
  while (inFlight.length > 0) await settle();
  return { seconds: secondsSince(start), read, verified, refused };
}

/**
 * (c) `events verify`, chain only, over one range of the stream that starts where a seal's
 * window ends (`start`: that seq and the head the seal signed) and ends with the seals of the
 * block: every entry hashed and chained, every seal in it verified and checked, the start
 * anchored by a verified seal. What (d) does per entry, over the range (c) reads.
 */
export async function eventsVerifyRange(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  trust: TrustStore,
  range: Range,
  start: { seq: number; head: string },
): Promise<{ seconds: number; report: HistoryReport }> {
  const begin = nowNs();
  const report = await verifyHistory(
    (async function* () {
      for await (const e of readHistory(js, jsm, stream, range))
        yield { seq: e.seq, bytes: e.bytes };
    })(),
    { trust, signatures: false, start, anchorStart: true },
  );
  return { seconds: secondsSince(begin), report };
}

/** (d) `secai events verify` over the whole stream: what the CLI runs, minus its progress bar. */
export async function eventsVerify(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  trust: TrustStore,
  signatures: boolean,
): Promise<{ seconds: number; report: HistoryReport }> {
  const start = nowNs();
  const report = await verifyHistory(
    (async function* () {
      // As the CLI does: each entry with its subject and type header, for the consumers' checks.
      for await (const e of readHistory(js, jsm, stream))
        yield {
          seq: e.seq,
          bytes: e.bytes,
          subject: e.subject,
          ...(e.type ? { type: e.type } : {}),
        };
    })(),
    { trust, signatures },
  );
  return { seconds: secondsSince(start), report };
}

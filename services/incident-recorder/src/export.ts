import {
  BaseError,
  EnvelopeError,
  decodePayload,
  parseEnvelope,
  verifyEnvelope,
  type CloudEvent,
  type EventData,
  type TrustBundle,
} from '@secai/contracts';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  GENESIS_HEAD,
  bundleEntryLine,
  bundleHeaderLine,
  type BundleHeader,
} from '@secai/projections';
import { firstSeqAtOrAfter, readHistory, streamBounds, type Logger } from '@secai/streams';
import type { IncidentBook, RecorderConnection } from './book.js';
import type { IncidentEvent } from './machine.js';
import type { Sealer } from './sealer/follower.js';

export type ExportErrorCode = 'EXPORT_TOO_LARGE' | 'INCIDENT_UNKNOWN';
export class ExportError extends BaseError<ExportErrorCode> {}

/** Bundles larger than this are refused (the reference's forensic CLI limit). */
export const MAX_EXPORT_BYTES = 64 * 1024 * 1024;
/** Slack before the earliest time an id names, for clocks of different services. */
const SCAN_SLACK_MS = 60_000;

export interface ExportDeps {
  conn: RecorderConnection;
  book: IncidentBook;
  sealer: Pick<Sealer, 'sealNow' | 'status'>;
  trustBundle: () => TrustBundle;
  log: Logger;
  now?: () => Date;
  maxBytes?: number;
}

export interface IncidentExport {
  /** The bundle file, in the `secai events export` format. */
  bytes: Buffer;
  header: BundleHeader;
  /** Stream sequences of the incident's events and their causes, ascending. */
  selection: number[];
  /** Whether a seal inside the bundle covers every selected event. */
  sealed: boolean;
}

interface Indexed {
  seq: number;
  event: CloudEvent;
}

/** The millisecond time a UUIDv7 carries, or null for any other id. */
export function uuidV7Time(id: string): number | null {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.exec(id);
  return m ? parseInt(`${m[1]}${m[2]}`, 16) : null;
}

/** Ids an event points at: its causation and, for incident events, the observations and attestation. */
function referencesOf(event: CloudEvent): { causation: string | null; data: string[] } {
  const data: string[] = [];
  const d = event.data as Partial<
    EventData<'incident.opened'> &
      EventData<'incident.observation.attached'> &
      EventData<'incident.resolved'>
  >;
  if (event.type === 'incident.opened' && d.causeEventIds) data.push(...d.causeEventIds);
  if (event.type === 'incident.observation.attached' && d.causeEventId) data.push(d.causeEventId);
  if (
    (event.type === 'incident.resolved' || event.type === 'incident.acknowledged') &&
    d.ceremony?.attestationEventId
  )
    data.push(d.ceremony.attestationEventId);
  return { causation: event.causationid ?? null, data };
}

/** Whether an event of another aggregate names the incident as its cause (`model.contained`). */
function namesIncident(event: CloudEvent, id: string): boolean {
  const d = event.data as { incidentId?: unknown; cause?: { incidentId?: unknown } } | null;
  return (
    !event.subject.startsWith('incident/') &&
    d !== null &&
    typeof d === 'object' &&
    (d.incidentId === id || d.cause?.incidentId === id)
  );
}

/**
 * The incident's events and their causes, followed through `causationid` and the ids incident
 * events carry (observations, the ceremony's attestation), plus the targets' events that name
 * the incident (`model.contained`). Pure over an index of the stream window; ids not in it
 * (command requests, which are never stored) are returned as missing.
 */
export function incidentSelection(
  incidentId: string,
  index: ReadonlyMap<string, Indexed>,
): { seqs: number[]; missing: string[] } {
  const selected = new Map<string, number>();
  const missing = new Set<string>();
  const work: string[] = [];
  for (const [id, e] of index) {
    if (e.event.subject === `incident/${incidentId}` || namesIncident(e.event, incidentId))
      work.push(id);
  }
  while (work.length > 0) {
    const id = work.pop()!;
    if (selected.has(id)) continue;
    const entry = index.get(id);
    if (!entry) continue;
    selected.set(id, entry.seq);
    const refs = referencesOf(entry.event);
    for (const ref of refs.data) if (!index.has(ref)) missing.add(ref);
    for (const ref of [...refs.data, ...(refs.causation ? [refs.causation] : [])])
      if (index.has(ref) && !selected.has(ref)) work.push(ref);
  }
  return { seqs: [...selected.values()].sort((a, b) => a - b), missing: [...missing] };
}

async function indexWindow(
  conn: RecorderConnection,
  fromSeq: number,
  toSeq: number,
): Promise<Map<string, Indexed>> {
  const index = new Map<string, Indexed>();
  if (fromSeq > toSeq) return index;
  for await (const entry of readHistory(conn.js, conn.jsm, conn.store.stream, { fromSeq, toSeq })) {
    try {
      const event = decodePayload(parseEnvelope(entry.bytes));
      // A second entry with a known id is a duplicate (or a forgery): the first one stands.
      if (!index.has(event.id)) index.set(event.id, { seq: entry.seq, event });
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err; // unreadable bytes stay in the bundle
    }
  }
  return index;
}

/** The last verified seal whose window ends before `beforeSeq` and that is stored by `atMost`. */
async function anchorSeal(
  conn: RecorderConnection,
  beforeSeq: number,
  atMost: number,
): Promise<{ toSeq: number; head: string } | null> {
  let anchor: { toSeq: number; head: string } | null = null;
  const info = await conn.jsm.streams.info(conn.store.stream, {
    subjects_filter: 'secai.evt.audit.chain',
  });
  if (Object.keys(info.state.subjects ?? {}).length === 0) return null;
  for await (const entry of readHistory(conn.js, conn.jsm, conn.store.stream, {
    filterSubject: 'secai.evt.audit.chain',
    toSeq: atMost,
  })) {
    try {
      const v = verifyEnvelope(entry.bytes, conn.store.trust, {
        natsSubject: entry.subject,
        streamSeq: entry.seq,
      });
      if (v.event.type !== 'audit.checkpoint.sealed') continue;
      const d = v.event.data as EventData<'audit.checkpoint.sealed'>;
      if (d.toSeq < beforeSeq && entry.seq <= atMost) anchor = { toSeq: d.toSeq, head: d.head };
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
    }
  }
  return anchor;
}

/**
 * Exports one incident as a bundle in the `secai events export` format, verifiable offline with
 * `secai events verify --bundle`. That format is a contiguous, seal-anchored range of the stream
 * (its verifier recomputes the hash chain over consecutive sequences and reports any gap as
 * `SEQUENCE_GAP`), so a selection of events cannot be exported alone: the bundle is the smallest
 * such range holding the selection, from just after the last seal before its first event (that
 * seal, inside the bundle, vouches for the chain start) to the seal the export asks for (it
 * covers the incident's last event). `selection` lists which entries are the incident's events
 * and their causes; `incidentSelection` recomputes it from the bundle alone.
 */
export async function exportIncident(
  deps: ExportDeps,
  incidentId: string,
): Promise<IncidentExport> {
  const { conn } = deps;
  const loaded = await deps.book.load(incidentId);
  if (loaded.record.lastSequence === 0)
    throw new ExportError('INCIDENT_UNKNOWN', `no incident ${incidentId}`);
  const incidentLast = loaded.record.lastSequence;

  // Seal the tail first, so a seal inside the bundle covers the incident's last event.
  let sealed = false;
  let toSeq: number;
  try {
    await deps.sealer.sealNow();
    const status = deps.sealer.status();
    sealed = status.sealedToSeq >= incidentLast;
    toSeq = Math.max(status.lastSealEventSeq, incidentLast);
  } catch (err) {
    deps.log.warn(
      { err, incident: incidentId },
      'could not seal before the export; its tail is unsealed',
    );
    toSeq = (await streamBounds(conn.jsm, conn.store.stream)).lastSeq;
  }
  const bounds = await streamBounds(conn.jsm, conn.store.stream);

  // Where the causes can be: no earlier than the earliest time their ids (UUIDv7) carry.
  const ids = loaded.events.flatMap((e: IncidentEvent) => [
    e.id,
    ...referencesOf({ type: e.type, data: e.data } as CloudEvent).data,
  ]);
  const times = ids.map(uuidV7Time).filter((t) => t !== null);
  let scanFrom = bounds.firstSeq;
  if (times.length === ids.length && times.length > 0) {
    const at = await firstSeqAtOrAfter(
      conn.js,
      conn.store.stream,
      new Date(Math.min(...times) - SCAN_SLACK_MS),
    );
    if (at !== null) scanFrom = Math.min(at, loaded.events[0]!.seq);
  }
  let index = await indexWindow(conn, scanFrom, toSeq);
  let selection = incidentSelection(incidentId, index);
  if (selection.missing.length > 0 && scanFrom > bounds.firstSeq) {
    index = await indexWindow(conn, bounds.firstSeq, toSeq);
    selection = incidentSelection(incidentId, index);
  }
  if (selection.missing.length > 0)
    deps.log.warn({ incident: incidentId, missing: selection.missing }, 'causes not in the stream');

  const first = selection.seqs[0] ?? loaded.events[0]!.seq;
  const anchor = await anchorSeal(conn, first, toSeq);
  const chainStart = anchor
    ? { seq: anchor.toSeq, head: anchor.head }
    : { seq: 0, head: GENESIS_HEAD };
  const fromSeq = chainStart.seq + 1;
  const header: BundleHeader = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    exportedAt: (deps.now ?? (() => new Date()))().toISOString(),
    stream: conn.store.stream,
    fromSeq,
    toSeq,
    count: toSeq - fromSeq + 1,
    chainStart,
    trust: deps.trustBundle(),
  };
  const max = deps.maxBytes ?? MAX_EXPORT_BYTES;
  const parts: Buffer[] = [Buffer.from(bundleHeaderLine(header))];
  let size = parts[0]!.length;
  let expected = fromSeq;
  for await (const entry of readHistory(conn.js, conn.jsm, conn.store.stream, { fromSeq, toSeq })) {
    if (entry.seq !== expected)
      throw new Error(`stream read returned seq ${entry.seq} where ${expected} was expected`);
    // Any stored bytes fit a line (forged ones base64-encoded): a forgery in the range is
    // evidence in the bundle, not a reason to fail the export.
    const line = bundleEntryLine({
      seq: entry.seq,
      subject: entry.subject,
      type: entry.type,
      bytes: entry.bytes,
    });
    size += line.length;
    if (size > max)
      throw new ExportError(
        'EXPORT_TOO_LARGE',
        `the bundle for ${incidentId} (seq ${fromSeq}..${toSeq}) exceeds ${max} bytes`,
      );
    parts.push(line);
    expected++;
  }
  if (expected !== toSeq + 1)
    throw new Error(`stream read ended at seq ${expected - 1}, the bundle needs ${toSeq}`);
  return { bytes: Buffer.concat(parts), header, selection: selection.seqs, sealed };
}

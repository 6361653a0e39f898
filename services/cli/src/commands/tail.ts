import {
  EnvelopeError,
  decisionsIn,
  decodePayload,
  isDecisionEventType,
  parseEnvelope,
  verifyEnvelope,
  type CloudEvent,
} from '@secai/contracts';
import { uuidV7Time } from '@secai/incident-recorder';
import { firstSeqAtOrAfter, readHistory, streamBounds } from '@secai/streams';
import type { CliContext } from '../context.js';
import { table } from '../format.js';

export interface TailOptions {
  type?: string;
  follow?: boolean;
  json?: boolean;
  limit: number;
}

/** One decision of a verified decision event, by its address. */
interface TailDecision {
  /** The event id for a `policy.decided`, `<event id>#<index>` for a member of a group. */
  decisionId: string;
  caller: string;
  domain: string;
  decision: string;
  ruleId: string;
}

interface Row {
  seq: number;
  verified: boolean;
  error?: string;
  event: CloudEvent | null;
  /** A verified event whose id an earlier verified event already had: where that one is. */
  duplicateOf?: number;
  /**
   * The decisions a verified `policy.decided` or `policy.decisions.recorded` holds, each
   * addressed (a group commit holds several; each is one line of the table).
   */
  decisions?: TailDecision[];
}

interface Stored {
  seq: number;
  subject: string;
  type: string | undefined;
  bytes: Uint8Array;
}

/**
 * Decodes and verifies each stored envelope as the live consumers do (sequence, subject, type
 * header); refused ones are shown with their code, never hidden.
 */
function inspect(entry: Stored, ctx: CliContext): Row {
  const { seq, subject, type, bytes } = entry;
  try {
    const { event } = verifyEnvelope(bytes, ctx.trust, {
      natsSubject: subject,
      streamSeq: seq,
      ...(type !== undefined ? { typeHeader: type } : {}),
    });
    if (!isDecisionEventType(event.type)) return { seq, verified: true, event };
    const decisions = decisionsIn(event).map(({ decisionId, data }) => ({
      decisionId,
      caller: data.caller,
      domain: data.domain,
      decision: data.decision,
      ruleId: data.evidence.ruleId,
    }));
    return { seq, verified: true, event, decisions };
  } catch (err) {
    const code = err instanceof EnvelopeError ? err.code : 'ENVELOPE_MALFORMED';
    let event: CloudEvent | null = null;
    try {
      event = decodePayload(parseEnvelope(bytes));
    } catch {
      event = null;
    }
    return { seq, verified: false, error: code, event };
  }
}

/** The table lines of one stored event: one, or one per decision it holds. */
function humanRows(r: Row): string[][] {
  const cells = [
    String(r.seq),
    r.event?.time ?? '-',
    r.event?.type ?? '-',
    r.event?.subject ?? '-',
    r.event?.source.replace('secai://', '') ?? '-',
    !r.verified
      ? `REFUSED ${r.error}`
      : r.duplicateOf !== undefined
        ? `EVENT_ID_DUPLICATE of seq ${r.duplicateOf}`
        : 'ok',
  ];
  if (!r.decisions || r.decisions.length === 0) return [[...cells, '']];
  return r.decisions.map((d) => [
    ...cells,
    `${d.decisionId} ${d.decision} ${d.ruleId} (${d.caller})`,
  ]);
}

/**
 * Whether a stored type passes `--type`. Asking for `policy.decided` also shows the groups
 * (`policy.decisions.recorded`): their members are decisions like any other.
 */
function typeMatcher(type: string | undefined): (stored: string | undefined) => boolean {
  if (!type) return () => true;
  if (type === 'policy.decided')
    return (stored) => stored === type || stored === 'policy.decisions.recorded';
  return (stored) => stored === type;
}

/** Slack before the time a UUIDv7 id names, for clocks of different services. */
const ID_TIME_SLACK_MS = 60_000;

/** The event id in stored bytes, unverified (null when they are not an envelope). */
function idOf(bytes: Uint8Array): string | null {
  try {
    return decodePayload(parseEnvelope(bytes)).id;
  } catch {
    return null;
  }
}

/**
 * Where each event id was stored, over the sequences read, to mark an event that repeats an
 * earlier event's id (a service storing one of its old events again passes every other check).
 * Ids are read unverified; an earlier copy counts only once it verifies, as in `events verify`.
 * An original older than what was read is looked for from the time its UUIDv7 id names (minus
 * a minute for clocks): it cannot have been stored before it was made. Ids that are not UUIDv7
 * send the look back to the start of the stream.
 */
class IdLedger {
  readonly #seen = new Map<string, number[]>();
  readonly #verified = new Map<number, boolean>();
  #coveredFrom: number;
  /** Everything stored from this time on has been noted (+∞ until a look back sets it). */
  #coveredTime = Number.POSITIVE_INFINITY;

  constructor(
    private readonly ctx: CliContext,
    private readonly firstSeq: number,
    fromSeq: number,
  ) {
    this.#coveredFrom = fromSeq;
  }

  note(seq: number, bytes: Uint8Array, row?: Row): void {
    if (row) this.#verified.set(seq, row.verified);
    const id = row?.event?.id ?? idOf(bytes);
    if (id === null) return;
    const seqs = this.#seen.get(id);
    if (seqs) seqs.push(seq);
    else this.#seen.set(id, [seq]);
  }

  /** The earliest verified earlier copy of a verified row's id, if any. */
  async duplicateOf(row: Row): Promise<number | undefined> {
    if (!row.verified || !row.event) return undefined;
    const { id } = row.event;
    const idTime = uuidV7Time(id);
    await this.#cover(idTime === null ? Number.NEGATIVE_INFINITY : idTime - ID_TIME_SLACK_MS);
    const earlier = (this.#seen.get(id) ?? []).filter((s) => s < row.seq).sort((a, b) => a - b);
    for (const seq of earlier) if (await this.#verifies(seq)) return seq;
    return undefined;
  }

  /** Notes every id stored from `time` on (or from the stream's start) not yet noted. */
  async #cover(time: number): Promise<void> {
    if (time >= this.#coveredTime || this.#coveredFrom <= this.firstSeq) return;
    const from = Number.isFinite(time)
      ? ((await firstSeqAtOrAfter(this.ctx.js, this.ctx.stream, new Date(time))) ??
        this.#coveredFrom)
      : this.firstSeq;
    const toSeq = this.#coveredFrom - 1;
    if (from <= toSeq) {
      for await (const e of readHistory(this.ctx.js, this.ctx.jsm, this.ctx.stream, {
        fromSeq: from,
        toSeq,
      }))
        this.note(e.seq, e.bytes);
      this.#coveredFrom = from;
    }
    this.#coveredTime = time;
  }

  async #verifies(seq: number): Promise<boolean> {
    const known = this.#verified.get(seq);
    if (known !== undefined) return known;
    let verified = false;
    for await (const e of readHistory(this.ctx.js, this.ctx.jsm, this.ctx.stream, {
      fromSeq: seq,
      toSeq: seq,
    }))
      verified = inspect(e, this.ctx).verified;
    this.#verified.set(seq, verified);
    return verified;
  }
}

const HEADERS = ['SEQ', 'TIME', 'TYPE', 'SUBJECT', 'SOURCE', 'VERIFIED', 'DECISION'];

/**
 * `secai events tail`: the last `limit` events (of `type`), then live ones with --follow. A
 * decision event shows each decision it holds on its own line, by its address (`<id>#<i>` for a
 * member of a group); `--json` prints one line per event, its decisions listed in `decisions`.
 */
export async function tail(
  ctx: CliContext,
  options: TailOptions,
  out: (line: string) => void,
): Promise<void> {
  const { firstSeq, lastSeq } = await streamBounds(ctx.jsm, ctx.stream);
  // Without a type filter the last N events are the last N sequences: read only those.
  const fromSeq = options.type ? firstSeq : Math.max(firstSeq, lastSeq - options.limit + 1);
  const matches = typeMatcher(options.type);
  const rows: Row[] = [];
  const ids = new IdLedger(ctx, firstSeq, fromSeq);
  for await (const entry of readHistory(ctx.js, ctx.jsm, ctx.stream, { fromSeq, toSeq: lastSeq })) {
    if (!matches(entry.type)) {
      ids.note(entry.seq, entry.bytes);
      continue;
    }
    const row = inspect(entry, ctx);
    ids.note(entry.seq, entry.bytes, row);
    rows.push(row);
    if (rows.length > options.limit) rows.shift();
  }
  for (const row of rows) {
    const earlier = await ids.duplicateOf(row);
    if (earlier !== undefined) row.duplicateOf = earlier;
  }
  if (options.json) for (const r of rows) out(JSON.stringify(r));
  else out(table(HEADERS, rows.flatMap(humanRows)));
  if (!options.follow) return;

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for await (const entry of readHistory(ctx.js, ctx.jsm, ctx.stream, {
      fromSeq: lastSeq + 1,
      follow: true,
      signal: abort.signal,
    })) {
      if (!matches(entry.type)) {
        ids.note(entry.seq, entry.bytes);
        continue;
      }
      const row = inspect(entry, ctx);
      ids.note(entry.seq, entry.bytes, row);
      const earlier = await ids.duplicateOf(row);
      if (earlier !== undefined) row.duplicateOf = earlier;
      if (options.json) out(JSON.stringify(row));
      else for (const line of humanRows(row)) out(line.join('  ').trimEnd());
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

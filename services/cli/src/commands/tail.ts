import {
  EnvelopeError,
  decodePayload,
  parseEnvelope,
  verifyEnvelope,
  type CloudEvent,
} from '@secai/contracts';
import { readHistory, streamBounds } from '@secai/streams';
import type { CliContext } from '../context.js';
import { table } from '../format.js';

export interface TailOptions {
  type?: string;
  follow?: boolean;
  json?: boolean;
  limit: number;
}

interface Row {
  seq: number;
  verified: boolean;
  error?: string;
  event: CloudEvent | null;
}

/** Decodes and verifies each stored envelope; refused ones are shown with their code, never hidden. */
function inspect(seq: number, subject: string, bytes: Uint8Array, ctx: CliContext): Row {
  try {
    const { event } = verifyEnvelope(bytes, ctx.trust, { natsSubject: subject, streamSeq: seq });
    return { seq, verified: true, event };
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

function humanRow(r: Row): string[] {
  return [
    String(r.seq),
    r.event?.time ?? '-',
    r.event?.type ?? '-',
    r.event?.subject ?? '-',
    r.event?.source.replace('secai://', '') ?? '-',
    r.verified ? 'ok' : `REFUSED ${r.error}`,
  ];
}

const HEADERS = ['SEQ', 'TIME', 'TYPE', 'SUBJECT', 'SOURCE', 'VERIFIED'];

/** `secai events tail`: the last `limit` events (of `type`), then live ones with --follow. */
export async function tail(
  ctx: CliContext,
  options: TailOptions,
  out: (line: string) => void,
): Promise<void> {
  const { firstSeq, lastSeq } = await streamBounds(ctx.jsm, ctx.stream);
  // Without a type filter the last N events are the last N sequences: read only those.
  const fromSeq = options.type ? firstSeq : Math.max(firstSeq, lastSeq - options.limit + 1);
  const matches = (type: string | undefined) => !options.type || type === options.type;
  const rows: Row[] = [];
  for await (const entry of readHistory(ctx.js, ctx.jsm, ctx.stream, { fromSeq, toSeq: lastSeq })) {
    if (!matches(entry.type)) continue;
    rows.push(inspect(entry.seq, entry.subject, entry.bytes, ctx));
    if (rows.length > options.limit) rows.shift();
  }
  if (options.json) for (const r of rows) out(JSON.stringify(r));
  else out(table(HEADERS, rows.map(humanRow)));
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
      if (!matches(entry.type)) continue;
      const row = inspect(entry.seq, entry.subject, entry.bytes, ctx);
      out(options.json ? JSON.stringify(row) : humanRow(row).join('  '));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

import { EnvelopeError, verifyEnvelope } from '@secai/contracts';
import {
  openBundle,
  projectionByName,
  PROJECTIONS,
  renderDocument,
  replay,
  type ProjectedEvent,
} from '@secai/projections';
import { readHistory } from '@secai/streams';
import { loadTrustStore } from '@secai/contracts';
import type { TrustStore } from '@secai/contracts';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';

export interface ReplayOptions {
  projection: string;
  from?: number;
  to?: number;
  bundle?: string;
  json?: boolean;
}

/**
 * `secai events replay`: rebuilds a projection from scratch, offline from the stream or from an
 * exported bundle, applying only envelopes that verify. Prints the canonical document, so two
 * rebuilds of the same history are byte-identical.
 */
export async function replayCommand(
  ctx: CliContext | null,
  options: ReplayOptions,
  out: (line: string) => void,
): Promise<void> {
  const projection = projectionByName(options.projection);
  if (!projection) {
    throw new CliError(
      'UNKNOWN_PROJECTION',
      `no projection called ${options.projection}; known: ${Object.keys(PROJECTIONS).join(', ')}`,
    );
  }
  let refused = 0;
  const verified = async function* (
    entries: AsyncIterable<{ seq: number; bytes: Uint8Array; subject?: string }>,
    trust: TrustStore,
  ): AsyncGenerator<ProjectedEvent> {
    for await (const e of entries) {
      try {
        const opts = e.subject
          ? { natsSubject: e.subject, streamSeq: e.seq }
          : { streamSeq: e.seq };
        yield { seq: e.seq, event: verifyEnvelope(e.bytes, trust, opts).event };
      } catch (err) {
        if (!(err instanceof EnvelopeError)) throw err;
        refused++;
      }
    }
  };
  let source: AsyncGenerator<ProjectedEvent>;
  if (options.bundle) {
    const { header, entries } = await openBundle(options.bundle);
    const trust = await loadTrustStore(header.trust, { now: new Date() });
    source = verified(entries, trust);
  } else if (ctx) {
    const range = {
      ...(options.from ? { fromSeq: options.from } : {}),
      ...(options.to ? { toSeq: options.to } : {}),
    };
    source = verified(readHistory(ctx.js, ctx.jsm, ctx.stream, range), ctx.trust);
  } else {
    throw new CliError('USAGE', 'replay needs a running appliance or --bundle FILE');
  }
  const result = await replay(projection, source, {
    ...(options.from ? { fromSeq: options.from } : {}),
    ...(options.to ? { toSeq: options.to } : {}),
  });
  const document = renderDocument(result.document);
  if (options.json)
    out(
      JSON.stringify({
        projection: projection.name,
        lastSeq: result.lastSeq,
        applied: result.applied,
        refused,
        document: JSON.parse(document) as unknown,
      }),
    );
  else {
    out(document);
    process.stderr.write(
      `${projection.name}: ${result.applied} events applied up to seq ${result.lastSeq}${refused ? `, ${refused} refused envelopes skipped` : ''}\n`,
    );
  }
}

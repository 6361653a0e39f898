import {
  openBundle,
  projectionByName,
  PROJECTIONS,
  renderDocument,
  replay,
  type ProjectedEvent,
} from '@secai/projections';
import { loadTrustStore } from '@secai/contracts';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { verifiedEntries, verifiedEvents } from '../verified.js';

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
  const tally = { refused: 0 };
  let source: AsyncIterable<ProjectedEvent>;
  if (options.bundle) {
    const { header, entries } = await openBundle(options.bundle);
    const trust = await loadTrustStore(header.trust, { now: new Date() });
    source = verifiedEntries(entries, trust, tally);
  } else if (ctx) {
    const range = {
      ...(options.from ? { fromSeq: options.from } : {}),
      ...(options.to ? { toSeq: options.to } : {}),
    };
    source = verifiedEvents(ctx, range, tally);
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
        refused: tally.refused,
        document: JSON.parse(document) as unknown,
      }),
    );
  else {
    out(document);
    process.stderr.write(
      `${projection.name}: ${result.applied} events applied up to seq ${result.lastSeq}${tally.refused ? `, ${tally.refused} refused envelopes skipped` : ''}\n`,
    );
  }
}

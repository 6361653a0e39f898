import { ProjectionRunner, type ProjectedEvent, type Projection } from './projection.js';

export interface ReplayRange {
  /** First stream sequence to apply (inclusive). */
  fromSeq?: number;
  /** Last stream sequence to apply (inclusive); events must come in sequence order. */
  toSeq?: number;
}

export interface ReplayResult<Doc> {
  document: Doc;
  /** Sequence of the last event applied, 0 when none was. */
  lastSeq: number;
  /** Events applied (redeliveries and events outside the range are not counted). */
  applied: number;
}

/**
 * Rebuilds a projection from scratch over events in stream order, from a stream, an exported
 * bundle or an array. Stops reading at the first event past `toSeq`.
 */
export async function replay<Doc>(
  projection: Projection<Doc>,
  events: Iterable<ProjectedEvent> | AsyncIterable<ProjectedEvent>,
  range: ReplayRange = {},
): Promise<ReplayResult<Doc>> {
  const fromSeq = range.fromSeq ?? 1;
  const toSeq = range.toSeq ?? Number.POSITIVE_INFINITY;
  const runner = new ProjectionRunner(projection);
  let applied = 0;
  for await (const e of events) {
    if (e.seq > toSeq) break;
    if (e.seq < fromSeq) continue;
    if (runner.apply(e)) applied += 1;
  }
  return { document: runner.document, lastSeq: runner.lastSeq, applied };
}

import { describe, expect, it } from 'vitest';
import {
  ProjectionRunner,
  eventCountsProjection,
  renderDocument,
  replay,
  type ProjectedEvent,
} from '../src/index.js';
import { cloudEvent, startedData } from './fixtures.js';

const events: ProjectedEvent[] = [1, 2, 3, 4, 5].map((seq) => ({
  seq,
  event: cloudEvent('quarantine', 'service.started', startedData('quarantine'), seq),
}));

async function* slowly(list: readonly ProjectedEvent[]): AsyncGenerator<ProjectedEvent> {
  for (const e of list) {
    await Promise.resolve();
    yield e;
  }
}

describe('replay', () => {
  it('rebuilds a projection byte-identical to the live one', async () => {
    const live = new ProjectionRunner(eventCountsProjection);
    for (const e of events) live.apply(e);
    const rebuilt = await replay(eventCountsProjection, slowly(events));
    expect(rebuilt).toEqual({ document: live.document, lastSeq: 5, applied: 5 });
    expect(renderDocument(rebuilt.document)).toBe(renderDocument(live.document));
  });

  it('applies only fromSeq..toSeq, both inclusive', async () => {
    const result = await replay(eventCountsProjection, events, { fromSeq: 2, toSeq: 4 });
    expect(result).toEqual({
      document: { total: 3, byType: { 'service.started': 3 } },
      lastSeq: 4,
      applied: 3,
    });
  });

  it('stops reading at the first event past toSeq', async () => {
    let read = 0;
    function* counted(): Generator<ProjectedEvent> {
      for (const e of events) {
        read += 1;
        yield e;
      }
    }
    await replay(eventCountsProjection, counted(), { toSeq: 2 });
    expect(read).toBe(3);
  });

  it('does not count redelivered events', async () => {
    const result = await replay(eventCountsProjection, [
      ...events.slice(0, 3),
      events[1]!,
      ...events.slice(3),
    ]);
    expect(result).toEqual({
      document: { total: 5, byType: { 'service.started': 5 } },
      lastSeq: 5,
      applied: 5,
    });
  });

  it('gives the initial document when nothing is in range', async () => {
    const result = await replay(eventCountsProjection, events, { fromSeq: 9 });
    expect(result).toEqual({ document: { total: 0, byType: {} }, lastSeq: 0, applied: 0 });
  });
});

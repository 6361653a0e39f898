import { describe, expect, it } from 'vitest';
import {
  PROJECTIONS,
  ProjectionError,
  ProjectionRunner,
  eventCountsProjection,
  projectionByName,
  renderDocument,
  serviceStatusProjection,
  type ProjectedEvent,
  type Projection,
} from '../src/index.js';
import { cloudEvent, startedData, timeOf } from './fixtures.js';

const started = (service: string, seq: number): ProjectedEvent => ({
  seq,
  event: cloudEvent(service, 'service.started', startedData(service), seq),
});
const stopped = (service: string, seq: number): ProjectedEvent => ({
  seq,
  event: cloudEvent(service, 'service.stopped', { service, pid: 456, reason: 'shutdown' }, seq),
});
const failed = (service: string, seq: number): ProjectedEvent => ({
  seq,
  event: cloudEvent(
    'appliance',
    'service.failed',
    { service, restartsInWindow: 5, windowSeconds: 60, lastExitCode: 1, lastSignal: null },
    seq,
  ),
});

function run<Doc>(
  projection: Projection<Doc>,
  events: readonly ProjectedEvent[],
): ProjectionRunner<Doc> {
  const runner = new ProjectionRunner(projection);
  for (const e of events) runner.apply(e);
  return runner;
}

/** given events → document, and the same events delivered twice → the same document and bytes. */
function expectIdempotent<Doc>(
  projection: Projection<Doc>,
  events: readonly ProjectedEvent[],
): Doc {
  const once = run(projection, events);
  const redelivered = new ProjectionRunner(projection);
  for (const e of events) {
    redelivered.apply(e);
    redelivered.apply(e);
  }
  const replayedTwice = run(projection, [...events, ...events]);
  expect(redelivered.document).toEqual(once.document);
  expect(replayedTwice.document).toEqual(once.document);
  expect(renderDocument(redelivered.document)).toBe(renderDocument(once.document));
  expect(redelivered.lastSeq).toBe(once.lastSeq);
  return once.document;
}

describe('service-status', () => {
  it('marks a service running on service.started, with its pid and version', () => {
    const doc = expectIdempotent(serviceStatusProjection, [started('quarantine', 1)]);
    expect(doc).toEqual({
      services: {
        quarantine: {
          status: 'running',
          lastType: 'service.started',
          lastSeq: 1,
          lastTime: timeOf(1).toISOString(),
          pid: 123,
          version: '0.0.0',
        },
      },
    });
  });

  it('marks a service stopped on service.stopped and keeps its version', () => {
    const doc = expectIdempotent(serviceStatusProjection, [
      started('registry', 1),
      stopped('registry', 2),
    ]);
    expect(doc.services.registry).toEqual({
      status: 'stopped',
      lastType: 'service.stopped',
      lastSeq: 2,
      lastTime: timeOf(2).toISOString(),
      pid: 456,
      version: '0.0.0',
    });
  });

  it('marks the service named in service.failed as failed, and records the appliance as the emitter', () => {
    const doc = expectIdempotent(serviceStatusProjection, [
      started('appliance', 1),
      started('inference', 2),
      failed('inference', 3),
    ]);
    expect(doc.services.inference).toEqual({
      status: 'failed',
      lastType: 'service.failed',
      lastSeq: 3,
      lastTime: timeOf(3).toISOString(),
      pid: 123,
      version: '0.0.0',
    });
    expect(doc.services.appliance).toMatchObject({
      status: 'running',
      lastType: 'service.failed',
      lastSeq: 3,
    });
  });

  it('knows a service first seen through another event as unknown', () => {
    const e: ProjectedEvent = {
      seq: 7,
      event: { ...started('policy-engine', 7).event, type: 'policy.decided', data: {} },
    };
    const doc = expectIdempotent(serviceStatusProjection, [e]);
    expect(doc.services['policy-engine']).toEqual({
      status: 'unknown',
      lastType: 'policy.decided',
      lastSeq: 7,
      lastTime: timeOf(7).toISOString(),
    });
  });

  it('ignores sources that are not secai:// service names', () => {
    const e = started('quarantine', 1);
    const foreign: ProjectedEvent = { seq: 1, event: { ...e.event, source: 'https://elsewhere' } };
    const proto: ProjectedEvent = { seq: 2, event: { ...e.event, source: 'secai://__proto__' } };
    const doc = expectIdempotent(serviceStatusProjection, [foreign, proto]);
    expect(doc).toEqual({ services: {} });
  });

  it('never mutates the document it is given', () => {
    const before = run(serviceStatusProjection, [started('quarantine', 1)]).document;
    const snapshot = renderDocument(before);
    serviceStatusProjection.evolve(before, stopped('quarantine', 2));
    serviceStatusProjection.evolve(before, failed('quarantine', 3));
    expect(renderDocument(before)).toBe(snapshot);
  });
});

describe('event-counts', () => {
  it('counts events in total and per type', () => {
    const doc = expectIdempotent(eventCountsProjection, [
      started('quarantine', 1),
      started('registry', 2),
      stopped('registry', 3),
      failed('registry', 4),
    ]);
    expect(doc).toEqual({
      total: 4,
      byType: { 'service.started': 2, 'service.stopped': 1, 'service.failed': 1 },
    });
  });

  it('renders byte-identically however the document was built', () => {
    const events = [stopped('registry', 1), started('quarantine', 2), started('registry', 3)];
    const live = run(eventCountsProjection, events);
    const resumed = ProjectionRunner.fromCheckpoint(
      eventCountsProjection,
      JSON.parse(
        JSON.stringify(run(eventCountsProjection, events.slice(0, 2)).checkpoint()),
      ) as ReturnType<typeof live.checkpoint>,
    );
    resumed.apply(events[2]!);
    expect(renderDocument(resumed.document)).toBe(renderDocument(live.document));
    expect(renderDocument(live.document)).toBe(
      '{"byType":{"service.started":2,"service.stopped":1},"total":3}',
    );
  });
});

describe('ProjectionRunner', () => {
  it('ignores an event at or below lastSeq and says so', () => {
    const runner = new ProjectionRunner(eventCountsProjection);
    expect(runner.apply(started('quarantine', 2))).toBe(true);
    expect(runner.apply(started('quarantine', 2))).toBe(false);
    expect(runner.apply(started('quarantine', 1))).toBe(false);
    expect(runner.lastSeq).toBe(2);
    expect(runner.document.total).toBe(1);
  });

  it('advances lastSeq past events the projection does not handle, without calling evolve', () => {
    const onlyStops: Projection<number> = {
      name: 'stops',
      canHandle: ['service.stopped'],
      initialState: () => 0,
      evolve: (n) => n + 1,
    };
    const runner = run(onlyStops, [
      started('quarantine', 1),
      stopped('quarantine', 2),
      started('quarantine', 3),
    ]);
    expect(runner.document).toBe(1);
    expect(runner.lastSeq).toBe(3);
  });

  it('checkpoints and resumes', () => {
    const runner = run(serviceStatusProjection, [started('quarantine', 1)]);
    const checkpoint = runner.checkpoint();
    expect(checkpoint).toEqual({
      projection: 'service-status',
      lastSeq: 1,
      document: runner.document,
    });
    const resumed = ProjectionRunner.fromCheckpoint(serviceStatusProjection, checkpoint);
    expect(resumed.apply(started('quarantine', 1))).toBe(false);
    expect(resumed.apply(stopped('quarantine', 2))).toBe(true);
    expect(resumed.document.services.quarantine?.status).toBe('stopped');
  });

  it('refuses a checkpoint of another projection', () => {
    const checkpoint = run(eventCountsProjection, [started('quarantine', 1)]).checkpoint();
    expect(() =>
      ProjectionRunner.fromCheckpoint(serviceStatusProjection, checkpoint as never),
    ).toThrowError(expect.objectContaining({ code: 'CHECKPOINT_MISMATCH' }) as Error);
    expect(() =>
      ProjectionRunner.fromCheckpoint(eventCountsProjection, { ...checkpoint, lastSeq: -1 }),
    ).toThrow(ProjectionError);
  });
});

describe('catalog', () => {
  it('lists every projection under its own name', () => {
    for (const [name, projection] of Object.entries(PROJECTIONS))
      expect(projection.name).toBe(name);
    expect(Object.keys(PROJECTIONS).sort()).toEqual([
      'event-counts',
      'registry-manifest',
      'service-status',
    ]);
  });

  it('finds projections by name, and null for an unknown one', () => {
    expect(projectionByName('service-status')).toBe(serviceStatusProjection);
    expect(projectionByName('event-counts')).toBe(eventCountsProjection);
    expect(projectionByName('nope')).toBeNull();
    expect(projectionByName('toString')).toBeNull();
  });
});

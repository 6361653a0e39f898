import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startTestAppliance, type TestAppliance } from '@secai/streams/testing';
import {
  IncidentBook,
  defaultIncidentPolicy,
  incidentIdFor,
  stateOf,
  type IncidentCommand,
  type IncidentEvent,
  type IncidentPolicy,
  type Observation,
} from '../src/index.js';

// The book on the command kernel, against a real nats-server: what it caches after an append is
// the stored history (ids, sequences, times read back), and another writer's append is decided
// over, not lost.

let app: TestAppliance;
let policy: IncidentPolicy;
const log = pino({ level: 'silent' });
let n = 0;

beforeAll(async () => {
  app = await startTestAppliance();
  policy = (await defaultIncidentPolicy()).policy;
});
afterAll(async () => {
  await app?.cleanup();
});

function observation(causeId: string, subject: string): Observation {
  return {
    // Not auto-contained: opening records `incident.opened` alone.
    class: 'forbidden_airlock_request',
    severity: 'medium',
    subject,
    reportedBy: 'integrity-monitor',
    description: 'a request to a forbidden destination',
    causeId,
    causeIds: [causeId],
    time: new Date().toISOString(),
    correlationId: `corr-${causeId}`,
  };
}

function fresh() {
  const tag = `${process.pid}-${++n}`;
  const first = observation(`obs-${tag}-1`, `egress/book-${tag}`);
  const id = incidentIdFor(first);
  const open: IncidentCommand = {
    type: 'open',
    incidentId: id,
    observation: first,
    rule: policy.classes.forbidden_airlock_request,
  };
  const attach = (k: number): Extract<IncidentCommand, { type: 'attach' }> => ({
    type: 'attach',
    observation: observation(`obs-${tag}-${k}`, first.subject),
    escalation: [],
    now: new Date().toISOString(),
  });
  return { id, open, attach };
}

describe('IncidentBook on the command kernel', () => {
  it('caches the incident as stored, and tells the listeners the stored events', async () => {
    const conn = await app.client('incident-recorder');
    const book = new IncidentBook(conn, log);
    const heard: IncidentEvent[] = [];
    book.onAppended((_, events) => heard.push(...events));
    const { id, open } = fresh();

    const result = await book.handle(id, open);

    const stored = (await conn.store.load('incident', id)).events;
    expect(stored).toHaveLength(1);
    expect(result.decision.outcome).toBe('opened');
    expect(result.appended.map((e) => [e.type, e.id, e.seq, e.time])).toEqual([
      ['incident.opened', stored[0]!.event.id, stored[0]!.seq, stored[0]!.event.time],
    ]);
    expect(heard).toEqual(result.appended);
    const ctx = book.get(id)!.snapshot.context;
    expect([ctx.openedEventId, ctx.openedSeq, ctx.openedAt]).toEqual([
      stored[0]!.event.id,
      stored[0]!.seq,
      stored[0]!.event.time,
    ]);
    expect(book.get(id)!.lastSequence).toBe(stored[0]!.seq);
    expect(book.activeFor('forbidden_airlock_request', open.observation.subject)).toBe(id);
  });

  it('a refusal appends nothing and leaves the book as it was', async () => {
    const conn = await app.client('incident-recorder');
    const book = new IncidentBook(conn, log);
    const { id } = fresh();
    const result = await book.handle(id, { type: 'acknowledge', operator: 'bob', note: '' });
    expect(result.decision.refusal?.code).toBe('incident_unknown');
    expect(result.appended).toEqual([]);
    expect(book.get(id)).toBeUndefined();
    expect((await conn.store.load('incident', id)).events).toEqual([]);
  });

  it('when another writer moved the incident, decides again on the stored history', async () => {
    const conn = await app.client('incident-recorder');
    const book = new IncidentBook(conn, log);
    const other = new IncidentBook(await app.client('incident-recorder'), log);
    const { id, open, attach } = fresh();
    await book.handle(id, open);
    // A second writer (another book over the same stream) attaches an observation first.
    await other.rebuild();
    await other.handle(id, attach(2));

    // Our book's cached snapshot is one event behind: its append conflicts, it reloads.
    const third = attach(3);
    const result = await book.handle(id, third);

    expect(result.decision.events.map((e) => e.data)).toEqual([
      { incidentId: id, causeEventId: third.observation.causeId, count: 3 },
    ]);
    const record = book.get(id)!;
    expect(record.snapshot.context.observationCount).toBe(3);
    expect(record.lastSequence).toBe(await conn.store.lastSequence('incident', id));
    expect(record.anomalies).toBe(0);
    expect(stateOf(record.snapshot)).toBe('open');
  });
});

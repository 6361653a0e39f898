import { useMemo, useState } from 'preact/hooks';
import type { LiveEvent, LiveSnapshot, RefusedRow } from '../../bus/live.js';
import { eventsPerMinuteByZone, ZONES } from '../../model/metrics.js';
import { filterEvents, refusedByCode, type EventFilter } from '../../model/events.js';
import { serviceOfSource } from '../../model/types.js';
import { when } from '../format.js';
import { Plot } from '../Plot.js';
import { TextField } from '../TextField.js';

const ZONE_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#d62728', '#8c564b', '#7f7f7f'];
const SHOWN = 300;

export function Events({ live }: { live: LiveSnapshot }) {
  const [type, setType] = useState('');
  const [aggregate, setAggregate] = useState('');
  const [emitter, setEmitter] = useState('');
  const [sinceMinutes, setSinceMinutes] = useState('');
  const [open, setOpen] = useState<number | null>(null);

  const filter: EventFilter = {
    type,
    aggregate,
    emitter,
    ...(sinceMinutes !== '' && Number(sinceMinutes) > 0
      ? { sinceMs: Date.now() - Number(sinceMinutes) * 60_000 }
      : {}),
  };
  const rows = filterEvents(live.events, filter, SHOWN);
  const zonePlot = useMemo(
    () => eventsPerMinuteByZone(live.dashboard.metrics),
    [live.dashboard.metrics],
  );
  const refusedCodes = refusedByCode(live.refused);

  return (
    <section>
      <h1>Events</h1>
      <Plot
        testId="plot-events-by-zone"
        title="Events per minute by zone"
        series={ZONES.map((z, i) => ({ label: z, stroke: ZONE_COLOURS[i] ?? '#333' }))}
        data={zonePlot}
      />

      <h2 id="refused">Refused envelopes ({live.refused.length})</h2>
      <p>
        These did not verify against the appliance's root. What they claim is shown as a claim; none
        of it is counted anywhere else on this page.
        {Object.keys(refusedCodes).length > 0
          ? ` By reason: ${Object.entries(refusedCodes)
              .map(([code, n]) => `${code} ${n}`)
              .join(', ')}.`
          : ''}
      </p>
      <table data-testid="refused-table">
        <thead>
          <tr>
            <th>Seq</th>
            <th>Refused because</th>
            <th>Found on</th>
            <th>It claims (unverified)</th>
          </tr>
        </thead>
        <tbody>
          {[...live.refused]
            .reverse()
            .slice(0, 200)
            .map((r) => (
              <RefusedLine key={r.seq} row={r} />
            ))}
        </tbody>
      </table>

      <h2>Verified events</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <TextField
          label="Type"
          testId="filter-type"
          placeholder="incident. or quarantine.*"
          value={type}
          onValue={setType}
        />
        <TextField
          label="Aggregate"
          testId="filter-aggregate"
          placeholder="model or model/<id>"
          value={aggregate}
          onValue={setAggregate}
        />
        <TextField
          label="Emitter"
          testId="filter-emitter"
          placeholder="registry"
          value={emitter}
          onValue={setEmitter}
        />
        <TextField
          label="Last minutes"
          testId="filter-since"
          type="number"
          min="0"
          value={sinceMinutes}
          onValue={setSinceMinutes}
        />
      </form>
      <p>
        Showing the newest {rows.length} matching of {live.events.length} verified events in the
        window.
      </p>
      <table data-testid="events-table">
        <thead>
          <tr>
            <th>Seq</th>
            <th>Time</th>
            <th>Type</th>
            <th>Aggregate</th>
            <th>Emitter</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <EventLine
              key={e.seq}
              event={e}
              open={open === e.seq}
              toggle={() => setOpen(open === e.seq ? null : e.seq)}
            />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function EventLine({
  event,
  open,
  toggle,
}: {
  event: LiveEvent;
  open: boolean;
  toggle: () => void;
}) {
  return (
    <>
      <tr
        data-testid="event-row"
        data-seq={event.seq}
        data-type={event.event.type}
        class="clickable"
        onClick={toggle}
      >
        <td>{event.seq}</td>
        <td>{when(event.event.time)}</td>
        <td>{event.event.type}</td>
        <td>{event.event.subject}</td>
        <td>{serviceOfSource(event.event.source)}</td>
      </tr>
      {open ? (
        <tr data-testid="event-detail">
          <td colSpan={5}>
            <p class="ok-text" data-testid="verification-result">
              Verified: signed by {event.signer.service} (key {event.signer.keyid.slice(0, 16)}…),
              certificate chained to the pinned root, authorised for {event.event.type}, stored on{' '}
              {event.natsSubject} at #{event.seq}, data valid against its schema ({event.size}{' '}
              bytes).
            </p>
            <h4>Event</h4>
            <pre>{JSON.stringify(event.event, null, 2)}</pre>
            <h4>Envelope (DSSE)</h4>
            <pre>{JSON.stringify(event.envelope, null, 2)}</pre>
          </td>
        </tr>
      ) : null}
    </>
  );
}

function RefusedLine({ row }: { row: RefusedRow }) {
  const claimed = row.claimed;
  return (
    <tr data-testid="refused-row" data-seq={row.seq} data-code={row.code}>
      <td>{row.seq}</td>
      <td class="refused">
        <strong>{row.code}</strong>: {row.message}
      </td>
      <td>{row.natsSubject}</td>
      <td>
        {claimed
          ? `claims ${claimed.type} about ${claimed.subject} from ${claimed.source} (id ${claimed.id})`
          : `claims: ${
              Object.entries(row.claims)
                .map(([k, v]) => `${k} ${String(v)}`)
                .join(', ') || 'nothing readable'
            }`}
      </td>
    </tr>
  );
}

import { useState } from 'preact/hooks';
import { api, incidentExportUrl } from '../../api.js';
import type { LiveSnapshot } from '../../bus/live.js';
import { incidentBoard, isClosed, type Incident } from '../../model/incidents.js';
import { problemText } from '../Auth.js';
import { when } from '../format.js';

export function Incidents({ live }: { live: LiveSnapshot }) {
  const board = incidentBoard(live.dashboard.incidents);
  const [selected, setSelected] = useState<string | null>(null);
  const incident = selected === null ? null : (live.dashboard.incidents[selected] ?? null);
  return (
    <section>
      <h1>Incidents</h1>
      <div class="board" data-testid="incident-board">
        {board.columns.map((column) =>
          column.severity === 'unknown' && column.incidents.length === 0 ? null : (
            <div
              key={column.severity}
              class={`column severity-${column.severity}`}
              data-testid="board-column"
              data-severity={column.severity}
            >
              <h2>
                {column.severity} ({column.incidents.length})
              </h2>
              {column.incidents.map((i) => (
                <IncidentCard key={i.id} incident={i} select={() => setSelected(i.id)} />
              ))}
            </div>
          ),
        )}
      </div>
      {incident ? (
        <IncidentDetail incident={incident} />
      ) : (
        <p>Pick an incident for its timeline.</p>
      )}
      <h2>Resolved and acknowledged ({board.resolved.length})</h2>
      {board.resolved.map((i) => (
        <IncidentCard key={i.id} incident={i} select={() => setSelected(i.id)} />
      ))}
    </section>
  );
}

function IncidentCard({ incident, select }: { incident: Incident; select: () => void }) {
  return (
    <article
      class={`card incident status-${incident.status}`}
      data-testid="incident-card"
      data-incident-id={incident.id}
      data-severity={incident.severity ?? 'unknown'}
      data-class={incident.class ?? 'unknown'}
      data-status={incident.status}
    >
      <h3>{incident.class ?? 'incident (opened before this window)'}</h3>
      <p>{incident.description ?? ''}</p>
      <p>
        {incident.status}, {incident.observations} observation(s), about {incident.subject ?? '—'};
        updated {when(incident.updatedAt)}
      </p>
      <button type="button" data-testid="incident-open" onClick={select}>
        Timeline
      </button>
    </article>
  );
}

function IncidentDetail({ incident }: { incident: Incident }) {
  const [note, setNote] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const step = async (which: 'acknowledge' | 'resolve') => {
    try {
      const answer = await api.incidentStep(which, incident.id, note);
      setResult({
        ok: true,
        text: `${which === 'resolve' ? 'Resolution' : 'Acknowledgement'} sent: ${JSON.stringify(answer)}`,
      });
    } catch (err) {
      setResult({ ok: false, text: problemText(err) });
    }
  };
  return (
    <article class="card detail" data-testid="incident-detail" data-incident-id={incident.id}>
      <h2>
        Incident {incident.id}: {incident.class ?? '?'} ({incident.severity ?? '?'}),{' '}
        {incident.status}
      </h2>
      <ol class="timeline" data-testid="incident-timeline">
        {incident.timeline.map((t) => (
          <li
            key={`${t.seq}-${t.phase}`}
            data-testid="timeline-entry"
            data-phase={t.phase}
            class={t.ok === false ? 'error' : undefined}
          >
            <span class="phase">{t.phase}</span> <span class="time">{when(t.time)}</span>{' '}
            {t.summary}
          </li>
        ))}
      </ol>
      <p>
        Resolve once the recovery ceremony is done (the recorder says what is missing); acknowledge
        a resolved incident to release it.
      </p>
      <form class="inline-form" onSubmit={(e) => e.preventDefault()}>
        <label>
          Note
          <input
            data-testid="incident-note"
            maxLength={1024}
            value={note}
            onInput={(e) => setNote(e.currentTarget.value)}
          />
        </label>
        <button
          type="button"
          data-testid="incident-ack"
          disabled={incident.status !== 'resolved'}
          onClick={() => void step('acknowledge')}
        >
          Acknowledge
        </button>
        <button
          type="button"
          data-testid="incident-resolve"
          disabled={isClosed(incident.status)}
          onClick={() => void step('resolve')}
        >
          Resolve
        </button>
        <a data-testid="incident-export" href={incidentExportUrl(incident.id)} download>
          Export bundle
        </a>
      </form>
      {result ? (
        <p data-testid="incident-action-result" class={result.ok ? 'ok-text' : 'error'}>
          {result.text}
        </p>
      ) : null}
    </article>
  );
}

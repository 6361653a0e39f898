import type { LiveSnapshot } from '../../bus/live.js';
import { attestationSummary } from '../../model/attestation.js';
import { openBySeverity } from '../../model/incidents.js';
import { availableCount } from '../../model/models.js';
import { serviceRows } from '../../model/services.js';
import { shortDigest, when } from '../format.js';
import { followInPage } from '../router.js';

export function Overview({ live }: { live: LiveSnapshot }) {
  const d = live.dashboard;
  const services = serviceRows(d.services);
  const attestation = attestationSummary(d.attestation);
  const open = openBySeverity(d.incidents);
  const openTotal = Object.values(open).reduce((a, b) => a + b, 0);
  return (
    <section>
      <h1>Overview</h1>
      <div class="cards">
        <article
          class={attestation.attested ? 'card ok' : 'card bad'}
          data-testid="attestation-mode"
          data-mode={attestation.mode ?? 'none'}
          data-attested={String(attestation.attested)}
        >
          <h2>Attestation</h2>
          <p>{attestation.say}</p>
        </article>
        <article
          class={openTotal > 0 ? 'card bad' : 'card ok'}
          data-testid="open-incidents"
          data-open={openTotal}
        >
          <h2>Open incidents</h2>
          <p>
            {openTotal === 0
              ? 'None.'
              : `${open.critical} critical, ${open.high} high, ${open.medium} medium, ${open.low} low${open.unknown ? `, ${open.unknown} of unknown severity` : ''}`}
          </p>
          <a href="/incidents" onClick={(e) => followInPage(e, '/incidents')}>
            The board
          </a>
        </article>
        <article class="card" data-testid="models-available" data-count={availableCount(d.models)}>
          <h2>Models available</h2>
          <p>{availableCount(d.models)}</p>
          <a href="/models" onClick={(e) => followInPage(e, '/models')}>
            The registry
          </a>
        </article>
        <article
          class={live.coverage.mismatch ? 'card bad' : 'card'}
          data-testid="last-seal"
          data-to-seq={d.lastSeal?.toSeq ?? ''}
        >
          <h2>Last seal</h2>
          {d.lastSeal ? (
            <p>
              Entries {d.lastSeal.fromSeq}–{d.lastSeal.toSeq} sealed {when(d.lastSeal.time)}, head{' '}
              <code title={d.lastSeal.head}>{shortDigest(d.lastSeal.head, 16)}</code>.
            </p>
          ) : (
            <p>No seal in the entries on screen.</p>
          )}
          <p>{live.coverage.say}</p>
        </article>
      </div>

      <h2>Services</h2>
      <table data-testid="services-table">
        <thead>
          <tr>
            <th>Service</th>
            <th>State</th>
            <th>Version</th>
            <th>PID</th>
            <th>Last event</th>
            <th>At</th>
          </tr>
        </thead>
        <tbody>
          {services.length === 0 ? (
            <tr>
              <td colSpan={6}>No service has reported yet.</td>
            </tr>
          ) : null}
          {services.map((s) => (
            <tr key={s.name} data-testid="service-row" data-service={s.name} data-status={s.status}>
              <td>{s.name}</td>
              <td class={`state-${s.status}`}>{s.status}</td>
              <td>{s.version ?? '—'}</td>
              <td>{s.pid ?? '—'}</td>
              <td>
                {s.lastType} (#{s.lastSeq})
              </td>
              <td>{when(s.lastTime)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Integrity per path class</h2>
      <table>
        <thead>
          <tr>
            <th>Path class</th>
            <th>State</th>
            <th>Violations</th>
            <th>Baseline entries</th>
            <th>Newest violation</th>
          </tr>
        </thead>
        <tbody>
          {Object.values(d.integrity).map((c) => {
            const last = c.violations.at(-1);
            return (
              <tr
                key={c.pathClass}
                data-testid="integrity-row"
                data-path-class={c.pathClass}
                data-state={c.state}
              >
                <td>{c.pathClass}</td>
                <td class={`state-${c.state}`}>
                  {c.state === 'unknown' ? 'not reported' : c.state}
                </td>
                <td>{c.violationCount}</td>
                <td>{c.baselineEntries ?? '—'}</td>
                <td>{last ? `${last.kind} ${last.path} (${last.severity})` : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

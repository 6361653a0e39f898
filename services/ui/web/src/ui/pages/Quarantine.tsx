import { useMemo, useState } from 'preact/hooks';
import { api } from '../../api.js';
import type { LiveSnapshot } from '../../bus/live.js';
import { stageTimes } from '../../model/metrics.js';
import { runsByState, type QuarantineRun } from '../../model/quarantine.js';
import { problemText } from '../Auth.js';
import { bytes, ms, shortDigest, when } from '../format.js';
import { Plot } from '../Plot.js';

export function Quarantine({ live }: { live: LiveSnapshot }) {
  const { inProgress, finished } = runsByState(live.dashboard.quarantine);
  const times = useMemo(() => stageTimes(live.dashboard.quarantine), [live.dashboard.quarantine]);
  const plotData = useMemo(
    () => [times.map((_, i) => i), times.map((t) => t.meanMs), times.map((t) => t.maxMs)],
    [times],
  );
  return (
    <section>
      <h1>Quarantine</h1>
      <ImportForm />
      <h2>Runs in progress ({inProgress.length})</h2>
      {inProgress.length === 0 ? (
        <p>None.</p>
      ) : (
        inProgress.map((r) => <RunCard key={`${r.artifact}#${r.attempt}`} run={r} />)
      )}
      <h2>Finished runs ({finished.length})</h2>
      {finished.map((r) => (
        <RunCard key={`${r.artifact}#${r.attempt}`} run={r} />
      ))}
      <h2>Stage times</h2>
      <Plot
        testId="plot-stage-times"
        title="Quarantine stage times (ms): mean and max"
        time={false}
        bars
        xLabels={times.map((t) => t.stage)}
        series={[
          { label: 'mean ms', stroke: '#1f77b4' },
          { label: 'max ms', stroke: '#d62728' },
        ]}
        data={plotData}
      />
      <table class="stage-table">
        <thead>
          <tr>
            <th>Stage</th>
            <th>Runs</th>
            <th>Mean</th>
            <th>Max</th>
            <th>Last</th>
          </tr>
        </thead>
        <tbody>
          {times.map((t) => (
            <tr key={t.stage} data-testid="stage-time-row" data-stage={t.stage}>
              <td>{t.stage}</td>
              <td>{t.runs}</td>
              <td>{ms(t.meanMs)}</td>
              <td>{ms(t.maxMs)}</td>
              <td>{ms(t.lastMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ImportForm() {
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const answer = await api.importModel(path.trim(), name.trim() || undefined);
      setResult({
        ok: true,
        text: `Import asked for (signed as the UI, naming you): ${JSON.stringify(answer)}. The run appears below as its stages pass.`,
      });
    } catch (err) {
      setResult({ ok: false, text: problemText(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form data-testid="import-form" class="inline-form" onSubmit={(e) => void submit(e)}>
      <h2>Import a model</h2>
      <p>
        A file or directory on the appliance; the quarantine reads it, the same as `secai model
        import`. The dashboard imports only from the appliance's import staging folder,{' '}
        <code>&lt;state dir&gt;/import-staging/</code> (<code>/var/lib/secai/import-staging/</code>{' '}
        when the appliance runs as root): copy the model there first. On the console, `secai model
        import` takes any path.
      </p>
      <label>
        Path on the appliance
        <input
          data-testid="import-path"
          required
          placeholder="/var/lib/secai/import-staging/model.gguf"
          value={path}
          onInput={(e) => setPath(e.currentTarget.value)}
        />
      </label>
      <label>
        Name (optional)
        <input
          data-testid="import-name"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <button data-testid="import-submit" type="submit" disabled={busy}>
        Import
      </button>
      {result ? (
        <p data-testid="import-result" class={result.ok ? 'ok-text' : 'error'}>
          {result.text}
        </p>
      ) : null}
    </form>
  );
}

function RunCard({ run }: { run: QuarantineRun }) {
  const c = run.completed;
  return (
    <article
      class={`card run run-${run.status}`}
      data-testid="run-card"
      data-artifact={run.artifact}
      data-status={run.status}
    >
      <h3>
        {run.displayName ?? run.name ?? shortDigest(run.artifact)} — {run.status}
        {run.attempt > 1 ? ` (attempt ${run.attempt})` : ''}
      </h3>
      <p>
        Artifact <code title={run.artifact}>{shortDigest(run.artifact)}</code>,{' '}
        {bytes(run.sizeBytes)}, from{' '}
        {run.source
          ? `${run.source.via}${run.source.url ? ` ${run.source.url}` : ''}`
          : 'unknown source'}
        ; started {when(run.startedAt)} under policy{' '}
        <code title={run.policyDigest ?? ''}>{shortDigest(run.policyDigest)}</code>.
      </p>
      <table>
        <thead>
          <tr>
            <th>Stage</th>
            <th>Result</th>
            <th>Reason</th>
            <th>Time</th>
            <th>Sandbox</th>
            <th>Evidence</th>
          </tr>
        </thead>
        <tbody>
          {run.stages.map((s) => (
            <tr key={s.stage} data-testid="stage-row" data-stage={s.stage} data-status={s.status}>
              <td>{s.stage}</td>
              <td class={`state-${s.status}`}>{s.status}</td>
              <td>
                {s.reasonCode ?? ''}
                {s.reason ? `: ${s.reason}` : ''}
                {s.failureClass ? ` (${s.failureClass})` : ''}
              </td>
              <td>{ms(s.durationMs)}</td>
              <td>
                {s.isolation
                  ? `${s.isolation.sandbox}, network ${s.isolation.network}${s.isolation.readOnlyArtifact ? ', read-only' : ''}${s.isolation.reapedDescendants ? `, ${s.isolation.reapedDescendants} reaped` : ''}`
                  : ''}
              </td>
              <td>
                {s.result
                  ? Object.entries(s.result)
                      .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`)
                      .join('; ')
                  : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {c ? (
        <p data-testid="run-summary">
          {c.passed ? 'Passed' : `Failed at ${c.failedStage ?? 'an unnamed stage'}`} ({c.reasonCode}
          ); format {c.format ?? '—'}, provenance {c.provenance}, pin {c.pin}
          {c.signer ? `, signed by ${c.signer}` : ''}
          {c.behavioralScore
            ? `, behavioural score ${c.behavioralScore.score} (${c.behavioralScore.flagged} flagged, ${c.behavioralScore.critical} critical of ${c.behavioralScore.totalPrompts})`
            : ''}
          ; {ms(c.durationMs)} in all.
        </p>
      ) : null}
      {run.outcome ? (
        <p data-testid="run-outcome" class={run.outcome.kind === 'promoted' ? 'ok-text' : 'error'}>
          {run.outcome.kind === 'promoted'
            ? `Promoted as ${run.outcome.name} (decision ${run.outcome.decisionId}).`
            : `Rejected${run.outcome.stage ? ` at ${run.outcome.stage}` : ''}: ${run.outcome.reasonCode}, ${run.outcome.reason}.`}
        </p>
      ) : null}
    </article>
  );
}

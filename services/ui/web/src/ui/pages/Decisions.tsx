import { useMemo, useState } from 'preact/hooks';
import { ApiError, api } from '../../api.js';
import type { LiveSnapshot } from '../../bus/live.js';
import {
  filterDecisions,
  whyDenied,
  type DecisionRow,
  type DecisionVerdict,
} from '../../model/decisions.js';
import { decisionsPerMinute } from '../../model/metrics.js';
import { problemText } from '../Auth.js';
import { shortDigest, when } from '../format.js';
import { Plot } from '../Plot.js';

const SHOWN = 300;

export function Decisions({ live }: { live: LiveSnapshot }) {
  const { decisions, metrics } = live.dashboard;
  const [verdict, setVerdict] = useState<DecisionVerdict | ''>('');
  const [domain, setDomain] = useState('');
  const [caller, setCaller] = useState('');
  const [text, setText] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const rows = filterDecisions(decisions.rows, { decision: verdict, domain, caller, text }).slice(
    0,
    SHOWN,
  );
  const domains = useMemo(
    () => [...new Set(decisions.rows.map((r) => r.domain))].sort(),
    [decisions.rows],
  );
  const callers = useMemo(
    () => [...new Set(decisions.rows.map((r) => r.caller))].sort(),
    [decisions.rows],
  );
  const plot = useMemo(() => decisionsPerMinute(metrics), [metrics]);
  const chosen = rows.find((r) => r.decisionId === selected) ?? null;

  return (
    <section>
      <h1>Decisions</h1>
      <p data-testid="decision-counts">
        In the window: {decisions.counts.allow} allowed, {decisions.counts.deny} denied,{' '}
        {decisions.counts.ask} asked.
      </p>
      <Plot
        testId="plot-decisions"
        title="Decisions per minute"
        series={[
          { label: 'allowed', stroke: '#2ca02c' },
          { label: 'denied', stroke: '#d62728' },
          { label: 'asked', stroke: '#ff7f0e' },
        ]}
        data={plot}
      />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Decision
          <select
            data-testid="filter-decision"
            value={verdict}
            onChange={(e) => setVerdict(e.currentTarget.value as DecisionVerdict | '')}
          >
            <option value="">any</option>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
            <option value="ask">ask</option>
          </select>
        </label>
        <label>
          Domain
          <select
            data-testid="filter-domain"
            value={domain}
            onChange={(e) => setDomain(e.currentTarget.value)}
          >
            <option value="">any</option>
            {domains.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          Caller
          <select
            data-testid="filter-caller"
            value={caller}
            onChange={(e) => setCaller(e.currentTarget.value)}
          >
            <option value="">any</option>
            {callers.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Rule, reason or subject
          <input
            data-testid="filter-text"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
      </form>
      {chosen ? <Why row={chosen} /> : null}
      <table data-testid="decisions-table">
        <thead>
          <tr>
            <th>Time</th>
            <th>Decision</th>
            <th>Domain</th>
            <th>Caller</th>
            <th>Subject</th>
            <th>Rule</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr
              key={r.decisionId}
              data-testid="decision-row"
              data-decision-id={r.decisionId}
              data-decision={r.decision}
            >
              <td>{when(r.time)}</td>
              <td class={`state-${r.decision}`}>{r.decision}</td>
              <td>{r.domain}</td>
              <td>{r.caller}</td>
              <td>
                {r.action ? `${r.action} ` : ''}
                {r.subject}
              </td>
              <td>{r.ruleId}</td>
              <td>
                <button
                  type="button"
                  data-testid="decision-why"
                  onClick={() => setSelected(r.decisionId)}
                >
                  {r.decision === 'deny' ? 'Why denied?' : 'Why?'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <WhatIf selected={chosen} />
    </section>
  );
}

function Why({ row }: { row: DecisionRow }) {
  const why = whyDenied(row);
  return (
    <article class="card detail" data-testid="why-denied" data-decision-id={row.decisionId}>
      <h2>
        Why {row.decision === 'deny' ? 'denied' : row.decision === 'allow' ? 'allowed' : 'asked'}:{' '}
        {row.decisionId}
      </h2>
      <dl>
        <dt>Rule</dt>
        <dd data-testid="why-rule">{why.rule}</dd>
        <dt>Reason</dt>
        <dd>{why.reason}</dd>
        <dt>Policy digest</dt>
        <dd data-testid="why-policy-digest">
          <code>{why.policyDigest}</code>
        </dd>
        <dt>Input digest</dt>
        <dd>
          <code title={row.inputDigest}>{shortDigest(row.inputDigest, 16)}</code> (evaluated in{' '}
          {row.durationMicros} µs)
        </dd>
      </dl>
      <h3>Trace</h3>
      <ol data-testid="why-trace">
        {row.trace.map((s, i) => (
          <li key={i} class={s.matched ? 'matched' : undefined}>
            {s.matched ? '✔' : '·'} {s.ruleId}: {s.why}
          </li>
        ))}
      </ol>
    </article>
  );
}

function WhatIf({ selected }: { selected: DecisionRow | null }) {
  const [fileName, setFileName] = useState('policy.yaml');
  const [yaml, setYaml] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const answer = await api.whatIf({ [fileName]: yaml }, selected ? [selected.decisionId] : []);
      setResult({ ok: true, text: JSON.stringify(answer, null, 2) });
    } catch (err) {
      setResult({
        ok: false,
        text:
          err instanceof ApiError && err.status === 501
            ? 'The appliance does not offer what-if yet (501 Not Implemented).'
            : problemText(err),
      });
    }
  };
  return (
    <form data-testid="whatif-form" class="inline-form" onSubmit={(e) => void submit(e)}>
      <h2>What if the policy said…</h2>
      <p>
        Re-decides {selected ? `decision ${selected.decisionId}` : 'the recorded decisions'} against
        an edited policy file; nothing is changed on the appliance.
      </p>
      <label>
        File
        <input
          data-testid="whatif-file"
          value={fileName}
          onInput={(e) => setFileName(e.currentTarget.value)}
        />
      </label>
      <label class="wide">
        Edited YAML
        <textarea
          data-testid="whatif-policy"
          rows={10}
          value={yaml}
          onInput={(e) => setYaml(e.currentTarget.value)}
        />
      </label>
      <button data-testid="whatif-submit" type="submit">
        Try it
      </button>
      {result ? (
        <pre data-testid="whatif-result" class={result.ok ? undefined : 'error'}>
          {result.text}
        </pre>
      ) : null}
    </form>
  );
}

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
import { policyFilesOf, type ActivePolicy } from '../../model/policy.js';
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
      <p data-testid="active-policy">
        {live.dashboard.policy.active
          ? `Active policy ${shortDigest(live.dashboard.policy.active.digest, 16)}, version ${live.dashboard.policy.active.version}, loaded ${when(live.dashboard.policy.active.loadedAt)} (${live.dashboard.policy.active.trigger}).`
          : 'No policy load in the entries on screen.'}
        {live.dashboard.policy.lastFailure
          ? ` A later load was REFUSED (${when(live.dashboard.policy.lastFailure.at)}): ${live.dashboard.policy.lastFailure.errors
              .map((e) => `${e.file} ${e.keyPath}: ${e.message}`)
              .join('; ')}; the active policy stays.`
          : ''}
      </p>
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
      <WhatIf selected={chosen} active={live.dashboard.policy.active} />
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

interface WhatIfAnswer {
  policyDigest: string;
  results: {
    decisionId: string;
    recorded: { decision: string; ruleId: string };
    candidate: { decision: string; ruleId: string; reason: string } | null;
    changed: boolean;
  }[];
}

const POLICY_FILES = ['policy.yaml', 'agent.yaml', 'mcp.yaml'] as const;

function WhatIf({
  selected,
  active,
}: {
  selected: DecisionRow | null;
  active: ActivePolicy | null;
}) {
  const [files, setFiles] = useState<Record<string, string>>({});
  const [answer, setAnswer] = useState<WhatIfAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setAnswer(null);
    try {
      const policy = Object.fromEntries(
        Object.entries(files).filter(([, text]) => text.trim() !== ''),
      );
      const result = await api.whatIf(policy, selected ? [selected.decisionId] : []);
      setAnswer(result as WhatIfAnswer);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 501
          ? 'The appliance does not offer what-if yet (501 Not Implemented).'
          : problemText(err),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <form data-testid="whatif-form" class="inline-form" onSubmit={(e) => void submit(e)}>
      <h2>What if the policy said…</h2>
      <p>
        Re-decides{' '}
        {selected ? `decision ${selected.decisionId}` : 'the latest 100 recorded decisions'} against
        an edited policy (policy.yaml and agent.yaml, mcp.yaml optional); nothing changes on the
        appliance.
        {active
          ? ` The active policy is ${shortDigest(active.digest, 16)} (version ${active.version}).`
          : ''}
      </p>
      <button
        type="button"
        data-testid="whatif-from-active"
        disabled={!active?.documents}
        onClick={() => setFiles(policyFilesOf(active))}
      >
        Start from the active policy
      </button>
      {POLICY_FILES.map((name) => (
        <label key={name} class="wide">
          {name}
          <textarea
            data-testid={`whatif-${name.replace('.yaml', '')}`}
            rows={8}
            value={files[name] ?? ''}
            onInput={(e) => setFiles({ ...files, [name]: e.currentTarget.value })}
          />
        </label>
      ))}
      <button data-testid="whatif-submit" type="submit" disabled={busy}>
        Try it
      </button>
      {error ? (
        <p data-testid="whatif-result" class="error">
          {error}
        </p>
      ) : null}
      {answer ? (
        <div data-testid="whatif-result">
          <p>
            Under policy <code>{shortDigest(answer.policyDigest, 16)}</code>:{' '}
            {answer.results.filter((r) => r.changed).length} of {answer.results.length} decision(s)
            would change.
          </p>
          <table>
            <thead>
              <tr>
                <th>Decision</th>
                <th>Recorded</th>
                <th>With the edit</th>
              </tr>
            </thead>
            <tbody>
              {answer.results.map((r) => (
                <tr key={r.decisionId} data-testid="whatif-row" data-changed={String(r.changed)}>
                  <td>{r.decisionId}</td>
                  <td>
                    <span class={`state-${r.recorded.decision}`}>{r.recorded.decision}</span> (
                    {r.recorded.ruleId})
                  </td>
                  <td>
                    {r.candidate ? (
                      <>
                        <span class={`state-${r.candidate.decision}`}>{r.candidate.decision}</span>{' '}
                        ({r.candidate.ruleId}): {r.candidate.reason}
                      </>
                    ) : (
                      'no answer for this decision'
                    )}
                    {r.changed ? <strong> — changed</strong> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </form>
  );
}

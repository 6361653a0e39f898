import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import type { LiveSnapshot } from '../../bus/live.js';
import { modelRows, type ModelRow } from '../../model/models.js';
import { problemText } from '../Auth.js';
import { bytes, shortDigest, when } from '../format.js';

type Pending = { action: 'contain' | 'remove'; model: ModelRow };

export function Models({ live }: { live: LiveSnapshot }) {
  const rows = modelRows(live.dashboard.models, live.dashboard.quarantine);
  const [pending, setPending] = useState<Pending | null>(null);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  return (
    <section>
      <h1>Models</h1>
      {pending ? (
        <Confirm
          pending={pending}
          onDone={(r) => {
            setPending(null);
            setResult(r);
          }}
        />
      ) : null}
      {result ? (
        <p data-testid="action-result" class={result.ok ? 'ok-text' : 'error'}>
          {result.text}
        </p>
      ) : null}
      <table data-testid="models-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>State</th>
            <th>Digest</th>
            <th>Format / size</th>
            <th>Pin</th>
            <th>Provenance</th>
            <th>Stages</th>
            <th>Last check</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={9}>No model in the registry's events on screen.</td>
            </tr>
          ) : null}
          {rows.map((m) => {
            const actionable = m.status !== 'removed';
            return (
              <tr key={m.id} data-testid="model-row" data-digest={m.id} data-status={m.status}>
                <td>
                  {m.name ?? '—'}
                  {m.loaded ? ' (loaded)' : ''}
                </td>
                <td class={`state-${m.status}`}>
                  {m.status}
                  {m.removal ? ` by ${m.removal.by}: ${m.removal.reason}` : ''}
                </td>
                <td>
                  <code title={m.digest}>{shortDigest(m.digest)}</code>
                </td>
                <td>
                  {m.format ?? '—'} / {bytes(m.sizeBytes)}
                </td>
                <td>{m.pin ?? '—'}</td>
                <td>
                  {m.provenance ?? '—'}
                  {m.signer ? ` (${m.signer})` : ''}
                </td>
                <td>
                  {m.stages.length === 0
                    ? '—'
                    : m.stages.map((s) => (
                        <span
                          key={s.stage}
                          class={`chip state-${s.status}`}
                          title={s.reasonCode ?? ''}
                        >
                          {s.stage}
                        </span>
                      ))}
                </td>
                <td>
                  {m.lastVerification
                    ? `${m.lastVerification.ok ? 'matches' : `FAILED (${m.lastVerification.problem ?? ''})`} ${when(m.lastVerification.time)}`
                    : '—'}
                </td>
                <td>
                  {actionable && m.status !== 'contained' ? (
                    <button
                      type="button"
                      data-testid="model-contain"
                      onClick={() => setPending({ action: 'contain', model: m })}
                    >
                      Contain
                    </button>
                  ) : null}
                  {actionable ? (
                    <button
                      type="button"
                      data-testid="model-remove"
                      onClick={() => setPending({ action: 'remove', model: m })}
                    >
                      Remove
                    </button>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function Confirm({
  pending,
  onDone,
}: {
  pending: Pending;
  onDone: (r: { ok: boolean; text: string } | null) => void;
}) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const { action, model } = pending;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const answer = await api.modelAction(action, model.id, reason.trim());
      onDone({
        ok: true,
        text: `${action === 'contain' ? 'Containment' : 'Removal'} asked for: ${JSON.stringify(answer)}`,
      });
    } catch (err) {
      onDone({ ok: false, text: problemText(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      class="confirm"
      data-testid="confirm-dialog"
      data-action={action}
      onSubmit={(e) => void submit(e)}
    >
      <h2>
        {action === 'contain' ? 'Contain' : 'Remove'} {model.name ?? shortDigest(model.digest)}?
      </h2>
      <p>
        {action === 'contain'
          ? 'The model is moved out of the serving store into containment; inference unloads it and ends requests on it.'
          : 'The model is deleted from the registry. This cannot be undone.'}{' '}
        The command is signed by the UI and names you.
      </p>
      <label>
        Reason
        <input
          data-testid="confirm-reason"
          required
          maxLength={256}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
      </label>
      <button data-testid="confirm-submit" type="submit" disabled={busy || reason.trim() === ''}>
        {action === 'contain' ? 'Contain it' : 'Remove it'}
      </button>
      <button data-testid="confirm-cancel" type="button" onClick={() => onDone(null)}>
        Cancel
      </button>
    </form>
  );
}

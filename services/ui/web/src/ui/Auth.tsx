import { useState } from 'preact/hooks';
import { ApiError, api, setCsrfToken } from '../api.js';
import { TextField } from './TextField.js';

// First boot (the setup code printed by the appliance, the operator's name, a passphrase) and
// login. A lockout (429) says how long to wait.

function problemText(err: unknown): string {
  if (err instanceof ApiError)
    return `${err.title}${err.detail ? `: ${err.detail}` : ''} (${err.code})`;
  return String(err);
}

export function Setup({ onDone }: { onDone: () => void }) {
  const [setupCode, setSetupCode] = useState('');
  const [operator, setOperator] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (passphrase !== repeat) {
      setError('The two passphrases differ.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.setup(setupCode.trim(), operator.trim(), passphrase);
      onDone();
    } catch (err) {
      setError(problemText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="auth">
      <h1>Set up the appliance</h1>
      <p>
        First visit: enter the one-time setup code the appliance printed when it first booted, your
        name as operator, and the passphrase that will guard this dashboard.
      </p>
      <form data-testid="setup-form" onSubmit={(e) => void submit(e)}>
        <TextField
          label="Setup code"
          testId="setup-code"
          name="setupCode"
          autocomplete="off"
          required
          value={setupCode}
          onValue={setSetupCode}
        />
        <TextField
          label="Operator name"
          testId="setup-operator"
          name="operator"
          autocomplete="username"
          required
          value={operator}
          onValue={setOperator}
        />
        <TextField
          label="Passphrase"
          testId="setup-passphrase"
          name="passphrase"
          type="password"
          autocomplete="new-password"
          required
          value={passphrase}
          onValue={setPassphrase}
        />
        <TextField
          label="Passphrase again"
          testId="setup-passphrase-repeat"
          name="repeat"
          type="password"
          autocomplete="new-password"
          required
          value={repeat}
          onValue={setRepeat}
        />
        <button data-testid="setup-submit" type="submit" disabled={busy}>
          Set the passphrase
        </button>
        {error ? (
          <p class="error" data-testid="setup-error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}

export function Login({
  onLoggedIn,
  notice,
}: {
  onLoggedIn: (operator: string) => void;
  notice?: string;
}) {
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [lockedFor, setLockedFor] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api.login(passphrase);
      setCsrfToken(answer.csrfToken);
      setLockedFor(null);
      onLoggedIn(answer.operator);
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        setLockedFor(err.retryAfter ?? 60);
      } else {
        setError(
          err instanceof ApiError && err.status === 401 ? 'Wrong passphrase.' : problemText(err),
        );
      }
    } finally {
      setPassphrase('');
      setBusy(false);
    }
  };

  return (
    <main class="auth">
      <h1>SecAI appliance</h1>
      {notice ? <p class="notice">{notice}</p> : null}
      <form data-testid="login-form" onSubmit={(e) => void submit(e)}>
        <TextField
          label="Passphrase"
          testId="login-passphrase"
          name="passphrase"
          type="password"
          autocomplete="current-password"
          required
          value={passphrase}
          onValue={setPassphrase}
        />
        <button data-testid="login-submit" type="submit" disabled={busy}>
          Log in
        </button>
        {error ? (
          <p class="error" data-testid="login-error" role="alert">
            {error}
          </p>
        ) : null}
        {lockedFor !== null ? (
          <p class="error" data-testid="lockout-message" role="alert">
            Too many failed attempts: login is locked for {lockedFor} seconds.
          </p>
        ) : null}
      </form>
    </main>
  );
}

export function ChangePassphrase({ onChanged }: { onChanged: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [result, setResult] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (next !== repeat) {
      setResult('The two new passphrases differ.');
      return;
    }
    try {
      await api.changePassphrase(current, next);
      setResult('Passphrase changed. Every session has ended; log in again.');
      onChanged();
    } catch (err) {
      setResult(problemText(err));
    }
  };

  return (
    <form data-testid="change-form" onSubmit={(e) => void submit(e)}>
      <h2>Change the passphrase</h2>
      <p>Changing it ends every session, this one included.</p>
      <TextField
        label="Current passphrase"
        testId="change-current"
        type="password"
        autocomplete="current-password"
        required
        value={current}
        onValue={setCurrent}
      />
      <TextField
        label="New passphrase"
        testId="change-next"
        type="password"
        autocomplete="new-password"
        required
        value={next}
        onValue={setNext}
      />
      <TextField
        label="New passphrase again"
        testId="change-repeat"
        type="password"
        autocomplete="new-password"
        required
        value={repeat}
        onValue={setRepeat}
      />
      <button data-testid="change-submit" type="submit">
        Change
      </button>
      {result ? <p data-testid="change-result">{result}</p> : null}
    </form>
  );
}

export { problemText };

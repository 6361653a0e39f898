import { useEffect, useState } from 'preact/hooks';
import { api, onSessionLost, setCsrfToken } from '../api.js';
import { Login, Setup, problemText } from './Auth.js';
import { Shell } from './Shell.js';

type AuthState =
  | { kind: 'loading' }
  | { kind: 'setup' }
  | { kind: 'login'; notice?: string }
  | { kind: 'in'; operator: string }
  | { kind: 'error'; message: string };

export function App() {
  const [auth, setAuth] = useState<AuthState>({ kind: 'loading' });

  const refresh = async (notice?: string) => {
    try {
      const status = await api.status();
      if (!status.configured) return setAuth({ kind: 'setup' });
      if (!status.authenticated || !status.csrfToken) {
        setCsrfToken(null);
        return setAuth(notice ? { kind: 'login', notice } : { kind: 'login' });
      }
      setCsrfToken(status.csrfToken);
      return setAuth({ kind: 'in', operator: status.operator ?? 'operator' });
    } catch (err) {
      return setAuth({ kind: 'error', message: problemText(err) });
    }
  };

  useEffect(() => {
    void refresh();
    onSessionLost((code) => {
      setCsrfToken(null);
      setAuth({
        kind: 'login',
        notice:
          code === 'SESSION_EXPIRED' ? 'Your session expired; log in again.' : 'Please log in.',
      });
    });
    return () => onSessionLost(null);
  }, []);

  switch (auth.kind) {
    case 'loading':
      return <main class="auth">Loading…</main>;
    case 'error':
      return (
        <main class="auth">
          <p class="error" role="alert">
            The UI service did not answer: {auth.message}
          </p>
        </main>
      );
    case 'setup':
      return <Setup onDone={() => void refresh('The passphrase is set. Log in with it.')} />;
    case 'login':
      return (
        <Login
          {...(auth.notice ? { notice: auth.notice } : {})}
          onLoggedIn={(operator) => setAuth({ kind: 'in', operator })}
        />
      );
    case 'in':
      return (
        <Shell
          operator={auth.operator}
          onLoggedOut={(notice) => {
            setCsrfToken(null);
            setAuth({ kind: 'login', notice });
          }}
        />
      );
  }
}

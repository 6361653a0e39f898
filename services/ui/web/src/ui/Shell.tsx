import { useEffect } from 'preact/hooks';
import { api } from '../api.js';
import { REPLAY_CAP, type LiveSnapshot } from '../bus/live.js';
import { ChangePassphrase } from './Auth.js';
import { PAGES, followInPage, navigate, pageOf, usePath } from './router.js';
import { useLive } from './useLive.js';
import { Decisions } from './pages/Decisions.js';
import { Events } from './pages/Events.js';
import { Incidents } from './pages/Incidents.js';
import { Models } from './pages/Models.js';
import { Overview } from './pages/Overview.js';
import { Quarantine } from './pages/Quarantine.js';

export interface ShellProps {
  operator: string;
  onLoggedOut: (notice: string) => void;
}

/** How often the shell asks whether its session still stands (the answer does not extend it). */
const SESSION_CHECK_MS = 30_000;

export function Shell({ operator, onLoggedOut }: ShellProps) {
  const live = useLive();
  const page = pageOf(usePath());

  // The bus keeps flowing without a request to the service, so the shell asks: once the session
  // has expired or ended (logout elsewhere, a passphrase change) the page stops showing the bus.
  useEffect(() => {
    const timer = setInterval(() => {
      api
        .status()
        .then((status) => {
          if (!status.authenticated) onLoggedOut('Your session ended; log in again.');
        })
        .catch(() => undefined);
    }, SESSION_CHECK_MS);
    return () => clearInterval(timer);
  }, [onLoggedOut]);

  const logout = async () => {
    try {
      await api.logout();
    } finally {
      navigate('/');
      onLoggedOut('Logged out.');
    }
  };

  return (
    <div class="shell">
      <header>
        <strong class="brand">SecAI</strong>
        <nav>
          {PAGES.filter((p) => p.id !== 'account').map((p) => (
            <a
              key={p.id}
              href={p.path}
              data-testid={`nav-${p.id}`}
              class={page === p.id ? 'active' : undefined}
              onClick={(e) => followInPage(e, p.path)}
            >
              {p.title}
            </a>
          ))}
        </nav>
        <span class="who">
          <a href="/account" data-testid="nav-account" onClick={(e) => followInPage(e, '/account')}>
            {operator}
          </a>
          <button type="button" data-testid="logout-button" onClick={() => void logout()}>
            Log out
          </button>
        </span>
      </header>
      <BusStatus live={live} />
      <main>
        {page === 'overview' ? <Overview live={live} /> : null}
        {page === 'events' ? <Events live={live} /> : null}
        {page === 'quarantine' ? <Quarantine live={live} /> : null}
        {page === 'models' ? <Models live={live} /> : null}
        {page === 'incidents' ? <Incidents live={live} /> : null}
        {page === 'decisions' ? <Decisions live={live} /> : null}
        {page === 'account' ? (
          <section>
            <h1>Account</h1>
            <p>Logged in as {operator}.</p>
            <ChangePassphrase
              onChanged={() => onLoggedOut('Passphrase changed: log in with the new one.')}
            />
          </section>
        ) : null}
      </main>
    </div>
  );
}

function BusStatus({ live }: { live: LiveSnapshot }) {
  const {
    phase,
    detail,
    startSeq,
    streamFirstSeq,
    replayTo,
    lastSeq,
    refused,
    coverage,
    dashboard,
  } = live;
  const capped = startSeq !== null && streamFirstSeq !== null && startSeq > streamFirstSeq;
  return (
    <section class={`bus-status phase-${phase}`} data-testid="bus-status" data-phase={phase}>
      <span>
        Bus: <strong>{phase}</strong>
        {detail ? ` — ${detail}` : ''}
        {phase === 'replaying' && replayTo !== null && lastSeq !== null
          ? ` (${lastSeq} of ${replayTo})`
          : ''}
      </span>
      <span data-testid="verified-count">{dashboard.verifiedCount} verified</span>
      <a
        href="/events#refused"
        data-testid="refused-count"
        class={refused.length > 0 ? 'refused' : undefined}
        onClick={(e) => followInPage(e, '/events')}
      >
        {refused.length} refused
      </a>
      {capped ? (
        <span data-testid="replay-note">
          Showing the stream from #{startSeq} (the newest {REPLAY_CAP.toLocaleString()} entries);
          earlier entries ({streamFirstSeq}–{(startSeq ?? 1) - 1}) are not read by this page.
        </span>
      ) : null}
      <span
        data-testid="chain-coverage"
        data-mismatch={coverage.mismatch ? 'true' : 'false'}
        class={coverage.mismatch ? 'refused' : undefined}
      >
        {coverage.say}
      </span>
    </section>
  );
}

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  EVENT_SUBJECT_PREFIX,
  loadTrustBundle,
  loadTrustStore,
  type Revocation,
  type TrustBundle,
  type TrustStore,
  type TrustedKey,
} from '@secai/contracts';
import {
  EVENTS_STREAM,
  StreamError,
  TYPE_HEADER,
  KV_BUCKETS,
  TRUST_KEY,
  connectAs,
  loadNatsUser,
  pinnedRootKeyid,
  readHistory,
  streamBounds,
  type NatsConnection,
} from '@secai/streams';
import { entryDigest } from '@secai/projections';
import { CliError } from '../errors.js';
import { verdictOf, type Verdict } from './verdict.js';
import {
  errnoCause,
  fsFailureCode,
  readRuntime,
  stateDirFailure,
  stateDirPresent,
} from '../stateDir.js';

/** The read-only identity the watch connects as (ui-contract §B). */
export const DASHBOARD_USER = 'dashboard';

/**
 * The trust the watch verifies with: the state dir's bundle (checked against the pinned root) at
 * once, then the bus's live trust cache once the dashboard identity can read the trust bucket.
 * Lookups always go to the current one.
 */
class WatchTrust implements TrustStore {
  constructor(
    public current: TrustStore,
    public source: 'kv' | 'state-dir',
  ) {}
  lookup(keyid: string): TrustedKey | undefined {
    return this.current.lookup(keyid);
  }
  revocation(keyid: string): Revocation | undefined {
    return this.current.revocation(keyid);
  }
}

/** The watch's connection: the bus as `dashboard`, and the trust it verifies with. */
export class DashboardConnection {
  constructor(
    readonly stateDir: string,
    readonly natsUrl: string,
    readonly nc: NatsConnection,
    readonly rootKeyid: string,
    readonly trust: WatchTrust,
  ) {}

  /**
   * Takes the trust bundle from the bus (the trust KV's last value, by a direct message get:
   * no watch, whose push consumer the appliance's consumer warden removes and reports for
   * `dashboard`) instead of the state dir's copy; false, leaving the trust in force, when the
   * identity may not read it. Called at start, before each history read and after a verified
   * `identity.revoked` (the appliance updates the bucket before it records the revocation).
   */
  async refreshTrust(): Promise<boolean> {
    try {
      this.trust.current = await trustFromBus(this.nc, this.rootKeyid);
      this.trust.source = 'kv';
      return true;
    } catch {
      if (this.trust.source === 'state-dir')
        this.trust.current = await trustFromStateDir(this.stateDir, this.rootKeyid).catch(
          () => this.trust.current,
        );
      return false;
    }
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }
}

const decoder = new TextDecoder();

/** The trust bundle the appliance published in KV, checked against the pinned root. */
async function trustFromBus(nc: NatsConnection, rootKeyid: string): Promise<TrustStore> {
  const jsm = await jetstreamManager(nc, { timeout: HISTORY_PROBE_MS });
  const entry = await jsm.streams.getMessage(`KV_${KV_BUCKETS.trust}`, {
    last_by_subj: `$KV.${KV_BUCKETS.trust}.${TRUST_KEY}`,
  });
  if (!entry) throw new StreamError('TRUST_UNAVAILABLE', 'no trust bundle is published yet');
  const bundle = JSON.parse(decoder.decode(entry.data)) as TrustBundle;
  const store = await loadTrustStore(bundle, { now: new Date() });
  if (store.rootKeyid !== rootKeyid)
    throw new StreamError(
      'TRUST_UNAVAILABLE',
      `the bus's trust bundle has root ${store.rootKeyid}, not the pinned root ${rootKeyid}`,
    );
  return store;
}

async function trustFromStateDir(stateDir: string, rootKeyid: string): Promise<TrustStore> {
  const store = await loadTrustStore(await loadTrustBundle(stateDir), { now: new Date() });
  if (store.rootKeyid !== rootKeyid)
    throw new StreamError(
      'TRUST_UNAVAILABLE',
      `the state dir's trust bundle has root ${store.rootKeyid}, not the pinned root ${rootKeyid}`,
    );
  return store;
}

/**
 * Connects to the appliance's bus as `dashboard` (its seed from the state dir, inbox prefix
 * `_INBOX_dashboard`), with the trust pinned to the state dir's root.
 */
export async function openDashboard(options: {
  stateDir: string;
  natsUrl?: string;
}): Promise<DashboardConnection> {
  const { stateDir } = options;
  const present = await stateDirPresent(stateDir);
  const info = present ? await readRuntime(stateDir) : null;
  const natsUrl = options.natsUrl ?? process.env.SECAI_NATS_URL ?? info?.natsUrl;
  if (!natsUrl)
    throw new CliError(
      'NOT_RUNNING',
      present
        ? `no appliance is running with state dir ${stateDir}: no run/runtime.json (secai boot writes it while it runs; start it with: secai boot --state-dir ${stateDir}, or pass --nats-url)`
        : `no appliance is running with state dir ${stateDir}: the directory does not exist (start it with: secai boot --state-dir ${stateDir}, or pass --state-dir with the right path)`,
    );
  let user;
  let rootKeyid: string;
  let initial: TrustStore | undefined;
  let initialFailure: unknown;
  try {
    user = await loadNatsUser(stateDir, DASHBOARD_USER);
    rootKeyid = await pinnedRootKeyid(stateDir);
  } catch (cause) {
    throw stateDirCause(stateDir, cause);
  }
  try {
    initial = await trustFromStateDir(stateDir, rootKeyid);
  } catch (cause) {
    // The bus's copy may still be readable: tried below, before giving up.
    initialFailure = cause;
  }
  let nc: NatsConnection;
  try {
    nc = await connectAs({ url: natsUrl, user, name: 'secai-watch' });
  } catch (cause) {
    if (isAuthorizationFailure(cause))
      throw new CliError(
        'BUS_REFUSED',
        `the bus at ${natsUrl} refused the ${DASHBOARD_USER} credentials of ${stateDir} (a bus of another appliance?)`,
        { cause },
      );
    throw new CliError(
      'NOT_RUNNING',
      `cannot reach the appliance bus at ${natsUrl} as ${DASHBOARD_USER}: is secai boot running?`,
      { cause },
    );
  }
  const conn = new DashboardConnection(
    stateDir,
    natsUrl,
    nc,
    rootKeyid,
    new WatchTrust(initial ?? EMPTY_TRUST, initial ? 'state-dir' : 'kv'),
  );
  if (!initial && !(await conn.refreshTrust())) {
    await conn.close();
    throw stateDirCause(stateDir, initialFailure);
  }
  return conn;
}

/** Trusts nothing: never in force, only a placeholder until the bus's bundle replaces it. */
const EMPTY_TRUST: TrustStore = { lookup: () => undefined, revocation: () => undefined };

/** A state dir file that could not be read, said as what it is (`STATE_DIR_*`), else as it came. */
function stateDirCause(stateDir: string, cause: unknown): Error {
  const errno = errnoCause(cause);
  if (errno && fsFailureCode(errno.code) !== null) return stateDirFailure(stateDir, errno);
  return cause instanceof Error ? cause : new Error(String(cause));
}

/** A nats.js authorization failure anywhere in a cause chain (by name, as context.ts does). */
function isAuthorizationFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++)
    if (e.name === 'AuthorizationError' || /authorization violation/i.test(e.message)) return true;
  return false;
}

/** One message of the live subscription, as it came. */
export interface LiveMessage {
  bytes: Uint8Array;
  subject: string;
  typeHeader: string | undefined;
}

export interface LiveFeed {
  stop(): void;
}

/**
 * Live events: a core subscription on every event subject (what `dashboard` may subscribe to).
 * No stream sequence comes with them, so a revoked key is refused outright, whatever the time.
 */
export function subscribeLive(
  conn: DashboardConnection,
  onMessage: (m: LiveMessage) => void,
): LiveFeed {
  const sub = conn.nc.subscribe(`${EVENT_SUBJECT_PREFIX}.>`, {
    callback: (err, msg) => {
      if (err) return;
      onMessage({
        bytes: msg.data,
        subject: msg.subject,
        typeHeader: msg.headers?.get(TYPE_HEADER) || undefined,
      });
    },
  });
  return { stop: () => sub.unsubscribe() };
}

/** The connection's own state as the header shows it. */
export function followBusState(
  nc: NatsConnection,
  onState: (s: 'connected' | 'reconnecting' | 'disconnected') => void,
): void {
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting' || s.type === 'staleConnection')
        onState('reconnecting');
      else if (s.type === 'reconnect') onState('connected');
      else if (s.type === 'close') onState('disconnected');
    }
  })().catch(() => undefined);
}

/** How long to wait for the JetStream API before saying the history is not readable. */
const HISTORY_PROBE_MS = 5_000;

export interface HistoryProgress {
  total: number;
  onEntry(v: Verdict, seq: number, digest: Buffer): void;
  onProgress(read: number): void;
}

/**
 * Reads the stored history with an ordered consumer (what `dashboard` may do once its read
 * rights are granted), each entry verified at its place (sequence, subject, type header). Throws
 * a `StreamError` (`HISTORY_UNAVAILABLE`) saying why when the identity may not read the stream.
 */
export async function readVerifiedHistory(
  conn: DashboardConnection,
  begin: (total: number) => HistoryProgress,
): Promise<void> {
  let jsm;
  let bounds;
  try {
    jsm = await jetstreamManager(conn.nc, { timeout: HISTORY_PROBE_MS });
    bounds = await streamBounds(jsm, EVENTS_STREAM);
  } catch (cause) {
    throw new HistoryUnavailable(reasonOf(cause), { cause });
  }
  const js = jetstream(conn.nc, { timeout: HISTORY_PROBE_MS });
  const progress = begin(bounds.messages);
  let read = 0;
  try {
    for await (const e of readHistory(js, jsm, EVENTS_STREAM, {
      fromSeq: bounds.firstSeq,
      toSeq: bounds.lastSeq,
    })) {
      progress.onEntry(
        verdictOf(e.bytes, conn.trust, { seq: e.seq, natsSubject: e.subject, typeHeader: e.type }),
        e.seq,
        digestOf(e.bytes),
      );
      if (++read % 500 === 0) progress.onProgress(read);
    }
  } catch (cause) {
    throw new HistoryUnavailable(reasonOf(cause), { cause });
  }
  progress.onProgress(read);
}

export class HistoryUnavailable extends Error {
  override name = 'HistoryUnavailable';
}

function reasonOf(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (/permission/i.test(text)) return 'the dashboard identity may not read the stream';
  if (/timeout|TimeoutError/i.test(text))
    return 'the JetStream API did not answer (no read rights?)';
  return text.slice(0, 120);
}

/** SHA-256 of stored bytes (the chain's entry digest), to chain them and to recognise an event that came both live and from history. */
export function digestOf(bytes: Uint8Array): Buffer {
  return entryDigest(bytes);
}

import {
  EVENTS_STREAM,
  StreamError,
  connectIdentity,
  runtimeInfoPath,
  type Connected,
  type TrustCache,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from '@secai/streams';
import type { Signer } from '@secai/contracts';
import { CliError } from './errors.js';
import {
  errnoCause,
  fsFailureCode,
  readRuntime,
  stateDirFailure,
  stateDirPresent,
} from './stateDir.js';

export interface GlobalOptions {
  stateDir: string;
  natsUrl?: string;
  json?: boolean;
}

export interface CliContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  trust: TrustCache;
  signer: Signer;
  stream: string;
  /** HTTP ports of the booted services (from the runtime info `secai boot` wrote); may be empty. */
  httpPorts: Record<string, number>;
  close(): Promise<void>;
}

/** A nats.js authorization failure anywhere in a cause chain (checked by name: no nats import here). */
function isAuthorizationFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
    if (e.name === 'AuthorizationError' || /authorization violation/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Connects as the `cli` identity of the appliance whose state dir is given, to the bus that
 * `secai boot` recorded there (or --nats-url). Works while boot runs in another terminal.
 * Says NOT_RUNNING only when that is the truth: no state dir, no runtime file, or nothing
 * listening at the recorded address. An unreadable state dir, a corrupt runtime file and a bus
 * that refuses the credentials each have their own code (errors.ts).
 */
export async function openContext(options: GlobalOptions): Promise<CliContext> {
  const { stateDir } = options;
  const present = await stateDirPresent(stateDir);
  const info = present ? await readRuntime(stateDir) : null;
  const natsUrl = options.natsUrl ?? process.env.SECAI_NATS_URL ?? info?.natsUrl;
  if (!natsUrl) {
    throw new CliError(
      'NOT_RUNNING',
      present
        ? `no appliance is running with state dir ${stateDir}: no ${runtimeInfoPath(stateDir)} (secai boot writes it while it runs; start it with: secai boot --state-dir ${stateDir}, or pass --nats-url)`
        : `no appliance is running with state dir ${stateDir}: the directory does not exist (start it with: secai boot --state-dir ${stateDir}, or pass --state-dir with the right path)`,
    );
  }
  let connected: Connected;
  try {
    connected = await connectIdentity('cli', {
      stateDir,
      natsUrl,
      connectionName: 'secai-cli',
    });
  } catch (cause) {
    // The identity loaders report an unreadable file as missing: name the real cause.
    const errno = errnoCause(cause);
    if (errno && fsFailureCode(errno.code) !== null) throw stateDirFailure(stateDir, errno);
    if (cause instanceof StreamError && cause.code === 'NATS_UNREACHABLE') {
      if (isAuthorizationFailure(cause)) {
        throw new CliError(
          'BUS_REFUSED',
          `the bus at ${natsUrl} refused the cli credentials of ${stateDir} (a bus of another appliance, or a revoked identity?)`,
          { cause },
        );
      }
      throw new CliError(
        'NOT_RUNNING',
        `cannot reach the appliance bus at ${natsUrl}${info && !options.natsUrl && !process.env.SECAI_NATS_URL ? ` (recorded by pid ${info.pid} at ${info.startedAt}; secai boot may have stopped without removing ${runtimeInfoPath(stateDir)})` : ''}: is secai boot running?`,
        { cause },
      );
    }
    throw cause;
  }
  const { nc, js, jsm, trust, signer } = connected;
  return {
    nc,
    js,
    jsm,
    trust,
    signer,
    stream: EVENTS_STREAM,
    httpPorts: info?.httpPorts ?? {},
    async close() {
      trust.close();
      await nc.close();
    },
  };
}

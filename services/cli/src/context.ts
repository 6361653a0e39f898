import {
  EVENTS_STREAM,
  StreamError,
  connectIdentity,
  readRuntimeInfo,
  type Connected,
  type TrustCache,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from '@secai/streams';
import type { Signer } from '@secai/contracts';
import { CliError } from './errors.js';

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

/**
 * Connects as the `cli` identity of the appliance whose state dir is given, to the bus that
 * `secai boot` recorded there (or --nats-url). Works while boot runs in another terminal.
 */
export async function openContext(options: GlobalOptions): Promise<CliContext> {
  if (
    !options.natsUrl &&
    !process.env.SECAI_NATS_URL &&
    !(await readRuntimeInfo(options.stateDir))
  ) {
    throw new CliError(
      'NOT_RUNNING',
      `no appliance is running with state dir ${options.stateDir} (start it with: secai boot --state-dir ${options.stateDir}, or pass --nats-url)`,
    );
  }
  let connected: Connected;
  try {
    connected = await connectIdentity('cli', {
      stateDir: options.stateDir,
      natsUrl: options.natsUrl,
      connectionName: 'secai-cli',
    });
  } catch (cause) {
    if (cause instanceof StreamError && cause.code === 'NATS_UNREACHABLE') {
      throw new CliError('NOT_RUNNING', `cannot reach the appliance bus: is secai boot running?`, {
        cause,
      });
    }
    throw cause;
  }
  const { nc, js, jsm, trust, signer } = connected;
  const info = await readRuntimeInfo(options.stateDir);
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

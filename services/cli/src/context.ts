import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createSigner, loadServiceIdentity } from '@secai/contracts';
import {
  EVENTS_STREAM,
  TrustCache,
  connectAs,
  loadNatsUser,
  pinnedRootKeyid,
  readRuntimeInfo,
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
  close(): Promise<void>;
}

/**
 * Connects as the `cli` identity of the appliance whose state dir is given, to the bus that
 * `secai boot` recorded there (or --nats-url). Works while boot runs in another terminal.
 */
export async function openContext(options: GlobalOptions): Promise<CliContext> {
  const natsUrl =
    options.natsUrl ??
    process.env.SECAI_NATS_URL ??
    (await readRuntimeInfo(options.stateDir))?.natsUrl;
  if (!natsUrl) {
    throw new CliError(
      'NOT_RUNNING',
      `no appliance is running with state dir ${options.stateDir} (start it with: secai boot --state-dir ${options.stateDir}, or pass --nats-url)`,
    );
  }
  const user = await loadNatsUser(options.stateDir, 'cli');
  const rootKeyid = await pinnedRootKeyid(options.stateDir);
  let nc: NatsConnection;
  try {
    nc = await connectAs({ url: natsUrl, user, name: 'secai-cli' });
  } catch (cause) {
    throw new CliError(
      'NOT_RUNNING',
      `cannot reach the appliance bus at ${natsUrl}: is secai boot running?`,
      { cause },
    );
  }
  const trust = await TrustCache.open(nc, rootKeyid);
  const signer = createSigner(await loadServiceIdentity(options.stateDir, 'cli'));
  return {
    nc,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    trust,
    signer,
    stream: EVENTS_STREAM,
    async close() {
      trust.close();
      await nc.close();
    },
  };
}

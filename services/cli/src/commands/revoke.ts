import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  createSigner,
  loadServiceIdentity,
  loadTrustBundle,
  saveTrustBundle,
} from '@secai/contracts';
import { revokeIdentity } from '@secai/appliance';
import {
  EventStore,
  TrustCache,
  connectAs,
  loadNatsUser,
  pinnedRootKeyid,
  readRuntimeInfo,
} from '@secai/streams';
import { CliError } from '../errors.js';

export interface RevokeOptions {
  stateDir: string;
  natsUrl?: string;
  service: string;
  reason: string;
  json?: boolean;
}

/**
 * `secai identity revoke`: an operator act. It needs the appliance identity from the state dir
 * (root's files), which is what authenticates the operator here.
 */
export async function revokeCommand(
  options: RevokeOptions,
  out: (line: string) => void,
): Promise<void> {
  const natsUrl =
    options.natsUrl ??
    process.env.SECAI_NATS_URL ??
    (await readRuntimeInfo(options.stateDir))?.natsUrl;
  if (!natsUrl)
    throw new CliError('NOT_RUNNING', `no appliance is running with state dir ${options.stateDir}`);
  const nc = await connectAs({
    url: natsUrl,
    user: await loadNatsUser(options.stateDir, 'appliance'),
    name: 'secai-cli-revoke',
  });
  try {
    const jsm = await jetstreamManager(nc);
    const trust = await TrustCache.open(nc, await pinnedRootKeyid(options.stateDir));
    const store = new EventStore(jetstream(nc), jsm, {
      signer: createSigner(await loadServiceIdentity(options.stateDir, 'appliance')),
      trust,
    });
    const result = await revokeIdentity(nc, jsm, store, await loadTrustBundle(options.stateDir), {
      service: options.service,
      reason: options.reason,
      now: new Date(),
      persist: (bundle) => saveTrustBundle(options.stateDir, bundle),
    });
    trust.close();
    const summary = {
      service: options.service,
      keyid: result.keyid,
      effectiveFromSeq: result.effectiveFromSeq,
      eventSeq: result.eventSeq,
    };
    out(
      options.json
        ? JSON.stringify(summary)
        : `revoked ${options.service} (keyid ${result.keyid}): its events from seq ${result.effectiveFromSeq} on are refused; recorded at seq ${result.eventSeq}`,
    );
  } finally {
    await nc.drain().catch(() => undefined);
  }
}

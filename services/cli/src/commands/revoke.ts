import { loadTrustBundle, saveTrustBundle } from '@secai/contracts';
import { revokeIdentity } from '@secai/appliance';
import { connectIdentity } from '@secai/streams';
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
  const { nc, jsm, store, trust } = await connectIdentity('appliance', {
    stateDir: options.stateDir,
    natsUrl: options.natsUrl,
    connectionName: 'secai-cli-revoke',
  }).catch((cause: unknown) => {
    throw new CliError(
      'NOT_RUNNING',
      `no appliance is reachable with state dir ${options.stateDir}`,
      { cause },
    );
  });
  try {
    const result = await revokeIdentity(nc, jsm, store, await loadTrustBundle(options.stateDir), {
      service: options.service,
      reason: options.reason,
      now: new Date(),
      persist: (bundle) => saveTrustBundle(options.stateDir, bundle),
    });
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
    trust.close();
    await nc.drain().catch(() => undefined);
  }
}

import { loadTrustBundle, saveTrustBundle } from '@secai/contracts';
import { revokeIdentity } from '@secai/appliance';
import { connectIdentity, sendCommand, StreamError, type Connected } from '@secai/streams';
import { CliError } from '../errors.js';

export interface RevokeOptions {
  stateDir: string;
  natsUrl?: string;
  service: string;
  reason: string;
  json?: boolean;
}

interface Summary {
  service: string;
  keyid: string;
  effectiveFromSeq: number;
  eventSeq: number;
}

/**
 * `secai identity revoke`: an operator act. Asked of the running appliance over the bus
 * (`appliance.revoke_identity`, as the cli identity from the state dir, root's files): it
 * revokes the certificate and takes the identity's NATS access away at once (issue 10 §3).
 * With no appliance process to answer (a bus run by something else), the certificate is revoked
 * here, as the appliance identity, and the command fails: the NATS user still connects.
 */
export async function revokeCommand(
  options: RevokeOptions,
  out: (line: string) => void,
): Promise<void> {
  const cli = await connect('cli', options);
  try {
    const reply = await sendCommand(cli.nc, {
      command: 'appliance.revoke_identity',
      signer: cli.store.signer,
      trust: cli.trust,
      request: { service: options.service as never, reason: options.reason },
      timeoutMs: 30_000,
    }).catch((err: unknown) => {
      if (err instanceof StreamError && err.code === 'COMMAND_TARGET_ABSENT') return null;
      throw err;
    });
    if (reply === null) {
      print(await revokeWithoutAppliance(options), false, options, out);
      throw new CliError(
        'REFUSED',
        `BUS_ACCESS_NOT_REVOKED: the certificate is revoked, but no running appliance manages this bus, so ${options.service}'s NATS user still connects (remove it from the server's config)`,
      );
    }
    if (!reply.ok) throw new CliError('REFUSED', `${reply.code}: ${reply.message}`);
    if (reply.alreadyDone)
      throw new CliError(
        'REFUSED',
        `REVOCATION_REFUSED: ${options.service} is already revoked and the bus refuses its NATS user`,
      );
    print(await lastRevocation(cli, options.service), true, options, out);
  } finally {
    cli.trust.close();
    await cli.nc.drain().catch(() => undefined);
  }
}

async function connect(identity: string, options: RevokeOptions): Promise<Connected> {
  return connectIdentity(identity, {
    stateDir: options.stateDir,
    natsUrl: options.natsUrl,
    connectionName: `secai-cli-revoke`,
  }).catch((cause: unknown) => {
    throw new CliError(
      'NOT_RUNNING',
      `no appliance is reachable with state dir ${options.stateDir}`,
      { cause },
    );
  });
}

/** What the appliance recorded: the last `identity.revoked` of the service. */
async function lastRevocation(cli: Connected, service: string): Promise<Summary> {
  const { events } = await cli.store.load('identity', service);
  const revoked = events.filter((e) => e.event.type === 'identity.revoked').pop();
  if (!revoked) throw new CliError('REFUSED', `no identity.revoked recorded for ${service}`);
  const data = revoked.event.data as { keyid: string; effectiveFromSeq: number };
  return {
    service,
    keyid: data.keyid,
    effectiveFromSeq: data.effectiveFromSeq,
    eventSeq: revoked.seq,
  };
}

/** Today's path for a bus without an appliance process: the certificate only. */
async function revokeWithoutAppliance(options: RevokeOptions): Promise<Summary> {
  const { nc, jsm, store, trust } = await connect('appliance', options);
  try {
    const result = await revokeIdentity(nc, jsm, store, await loadTrustBundle(options.stateDir), {
      service: options.service,
      reason: options.reason,
      now: new Date(),
      persist: (bundle) => saveTrustBundle(options.stateDir, bundle),
    });
    return {
      service: options.service,
      keyid: result.keyid,
      effectiveFromSeq: result.effectiveFromSeq,
      eventSeq: result.eventSeq,
    };
  } finally {
    trust.close();
    await nc.drain().catch(() => undefined);
  }
}

function print(
  summary: Summary,
  busRefused: boolean,
  options: RevokeOptions,
  out: (line: string) => void,
): void {
  out(
    options.json
      ? JSON.stringify({ ...summary, busAccessRevoked: busRefused })
      : `revoked ${summary.service} (keyid ${summary.keyid}): its events from seq ${summary.effectiveFromSeq} on are refused${busRefused ? ', and the bus refuses its NATS user' : ''}; recorded at seq ${summary.eventSeq}`,
  );
}

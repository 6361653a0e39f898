import { boot, describeAttestation, type ApplianceError } from '@secai/appliance';
import { createLogger } from '@secai/streams';
import { table } from '../format.js';

export interface BootCommandOptions {
  stateDir: string;
  natsUrl?: string;
  natsPort?: number;
  portOffset?: number;
  requireAttestation?: boolean;
  json?: boolean;
}

/** `secai boot`: brings the appliance up, prints its status, and runs until SIGINT/SIGTERM. */
export async function bootCommand(
  options: BootCommandOptions,
  out: (line: string) => void,
): Promise<void> {
  const log = createLogger('appliance');
  const appliance = await boot({
    stateDir: options.stateDir,
    log,
    ...(options.natsUrl ? { natsUrl: options.natsUrl } : {}),
    ...(options.natsPort !== undefined ? { natsPort: options.natsPort } : {}),
    ...(options.portOffset !== undefined ? { portOffset: options.portOffset } : {}),
    ...(options.requireAttestation ? { requireAttestation: true } : {}),
  });
  const status = appliance.status();
  const bus = appliance.bus();
  if (options.json) {
    out(
      JSON.stringify({
        state: 'running',
        stateDir: options.stateDir,
        natsUrl: appliance.natsUrl,
        firstBoot: appliance.firstBoot,
        attestation: appliance.attestation,
        services: status,
        bus,
      }),
    );
  } else {
    out(
      `SecAI appliance running (state dir ${options.stateDir}, bus ${appliance.natsUrl}${appliance.firstBoot ? ', first boot' : ''})`,
    );
    out(describeAttestation(appliance.attestation));
    out(
      table(
        ['SERVICE', 'STATE', 'PID', 'PORT', 'RESTARTS'],
        [...(bus ? [bus] : []), ...status].map((s) => [
          s.name,
          s.state,
          String(s.pid ?? '-'),
          String(s.port ?? '-'),
          String(s.restarts),
        ]),
      ),
    );
    out('Press Ctrl-C to stop.');
  }
  // Runs until a signal, or until the appliance stops itself (the bus gave up: BUS_FAILED),
  // which is a failure of `secai boot` (non-zero exit, the reason on stderr).
  const failed = await new Promise<ApplianceError | null>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void appliance.shutdown(`signal ${signal}`).then(() => resolve(null));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    void appliance.failure.then((error) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(error);
    });
  });
  if (failed) {
    if (options.json)
      out(JSON.stringify({ state: 'failed', code: failed.code, message: failed.message }));
    throw failed;
  }
  if (options.json) out(JSON.stringify({ state: 'stopped' }));
  else out('SecAI appliance stopped.');
}

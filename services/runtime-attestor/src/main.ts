import { createLogger, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './config.js';
import { startAttestor } from './service.js';

const SERVICE = 'runtime-attestor';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const running = await startAttestor(rt, {
    stateDir: config.stateDir,
    policyDir: config.policyDir,
    tcti: config.tcti,
    intervalMs: config.intervalMs,
    akHandle: config.akHandle,
    log,
  });
  await running.http.listen({ host: config.host, port: config.port });
  log.info(
    {
      port: config.port,
      mode: running.mode,
      outcome: running.initial.outcome,
      intervalMs: running.intervalMs,
    },
    'runtime-attestor ready',
  );

  stopOnSignals(rt, log, async () => {
    await running.http.close();
    await running.stop();
  });
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'runtime-attestor failed to start');
  process.exit(1);
});

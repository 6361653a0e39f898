import { createLogger, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './service/config.js';
import { startQuarantine } from './service/service.js';

const SERVICE = 'quarantine';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const service = await startQuarantine(rt, { config, log });

  stopOnSignals(rt, log, async () => {
    await service.stop();
  });
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'quarantine failed to start');
  process.exit(1);
});

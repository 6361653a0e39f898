import { createLogger, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './config.js';
import { startRegistry } from './service.js';

const SERVICE = 'registry';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const registry = await startRegistry(rt, {
    stateDir: config.stateDir,
    verifyEveryMs: config.verifyEveryMs,
    log,
  });
  await registry.http.listen({ host: config.host, port: config.port });
  log.info(
    {
      port: config.port,
      store: registry.models.layout.storeRoot,
      verifyEveryMs: config.verifyEveryMs,
    },
    'registry ready',
  );

  stopOnSignals(rt, log, async () => {
    await registry.http.close();
    await registry.stop();
  });
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'registry failed to start');
  process.exit(1);
});

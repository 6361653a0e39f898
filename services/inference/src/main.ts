import { createLogger, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './config.js';
import { startInference } from './service.js';

const SERVICE = 'inference';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const inference = await startInference(rt, {
    stateDir: config.stateDir,
    log,
    sweepEveryMs: config.sweepEveryMs,
  });
  await inference.http.listen({ host: config.host, port: config.port });
  log.info(
    { port: config.port, backend: inference.engine.backend, threads: inference.engine.threads },
    'inference ready',
  );
  stopOnSignals(rt, log, async () => {
    await inference.http.close();
    await inference.stop();
  });
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'inference failed to start');
  process.exit(1);
});

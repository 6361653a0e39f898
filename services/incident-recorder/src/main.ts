import { createLogger, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './config.js';
import { startRecorder } from './service.js';

const SERVICE = 'incident-recorder';
const VERSION = '0.2.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const recorder = await startRecorder(rt, {
    policyDir: config.policyDir,
    seal: config.seal,
    maxLag: config.maxLag,
    log,
  });
  await recorder.http.listen({ host: config.host, port: config.port });
  log.info(
    { port: config.port, incidents: recorder.book.size, policy: recorder.policy().digest },
    'incident recorder ready',
  );

  stopOnSignals(rt, log, async () => {
    await recorder.http.close();
    await recorder.stop();
  });
  // SIGHUP re-reads incidents.yaml (as POST /api/v1/reload does); a bad file keeps the old one.
  process.on('SIGHUP', () => {
    recorder.reload().catch((err: unknown) => log.error({ err }, 'incident policy reload failed'));
  });
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'incident recorder failed to start');
  process.exit(1);
});

import { createLogger, startServiceRuntime } from '@secai/streams';
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
    log,
  });
  await recorder.http.listen({ host: config.host, port: config.port });
  log.info(
    { port: config.port, incidents: recorder.book.size, policy: recorder.policy().digest },
    'incident recorder ready',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await recorder.http.close();
    await recorder.stop();
    await rt.close(`signal ${signal}`);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  // SIGHUP re-reads incidents.yaml (as POST /api/v1/reload does); a bad file keeps the old one.
  process.on('SIGHUP', () => {
    recorder.reload().catch((err: unknown) => log.error({ err }, 'incident policy reload failed'));
  });
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'incident recorder failed to start');
  process.exit(1);
});

import { createLogger, pinnedRootKeyid, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './config.js';
import { startUi } from './service.js';

const SERVICE = 'ui';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const ui = await startUi(rt, {
    stateDir: config.stateDir,
    rootKeyid: await pinnedRootKeyid(config.stateDir),
    webDist: config.webDist,
    secureCookies: config.secureCookies,
    allowedHosts: config.allowedHosts,
    recorderUrl: config.recorderUrl,
    websocketUrl: config.websocketUrl,
    sessions: config.sessions,
    log,
  });
  await ui.http.listen({ host: config.host, port: config.port });
  log.info(
    { port: config.port, configured: ui.auth.configured, webDist: config.webDist },
    'UI ready',
  );
  stopOnSignals(rt, log, () => ui.stop());
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'UI failed to start');
  process.exit(1);
});

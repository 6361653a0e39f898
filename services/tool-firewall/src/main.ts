import { createLogger, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './config.js';
import { startToolFirewall } from './service.js';

const SERVICE = 'tool-firewall';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const firewall = await startToolFirewall(rt, {
    workspace: config.workspace,
    limits: config.limits,
    log,
  });
  await firewall.http.listen({ host: config.host, port: config.port });
  log.info(
    {
      port: config.port,
      workspace: firewall.workspace.realRoot,
      tools: firewall.adapters.list().length,
    },
    'tool firewall ready',
  );
  stopOnSignals(rt, log, async () => {
    await firewall.http.close();
    await firewall.stop();
  });
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'tool firewall failed to start');
  process.exit(1);
});

import { createLogger, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './config.js';
import { IntegrityError } from './errors.js';
import { startIntegrityMonitor } from './service.js';
import { ensureConfigFile, loadSettings } from './settings.js';

const SERVICE = 'integrity-monitor';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  if ((await ensureConfigFile(config.policyDir)) === 'created')
    log.info({ dir: config.policyDir }, 'installed the default integrity.yaml');
  const vars = { STATE_DIR: config.stateDir, INSTALL_DIR: config.installDir };
  const settings = await loadSettings(config.policyDir, vars);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config: { ...config, settings: settings.digest },
  });
  const running = await startIntegrityMonitor(rt, {
    stateDir: config.stateDir,
    settings,
    log,
    reloadSettings: () => loadSettings(config.policyDir, vars),
  });
  await running.http.listen({ host: config.host, port: config.port });
  log.info(
    {
      port: config.port,
      state: running.firstScan.state,
      filesChecked: running.firstScan.filesChecked,
      durationMs: running.firstScan.durationMs,
      scanIntervalSeconds: settings.scanIntervalMs / 1000,
    },
    'integrity monitor ready',
  );

  stopOnSignals(rt, log, async () => {
    await running.http.close();
    await running.stop();
  });
}

main().catch((err: unknown) => {
  const log = createLogger(SERVICE);
  if (err instanceof IntegrityError)
    log.fatal({ code: err.code, problems: err.problems }, err.message);
  else log.fatal({ err }, 'integrity monitor failed to start');
  process.exit(1);
});

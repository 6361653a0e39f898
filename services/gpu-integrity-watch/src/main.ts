import { createLogger, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './config.js';
import { startGpuWatch } from './service.js';

const SERVICE = 'gpu-integrity-watch';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const running = await startGpuWatch(rt, {
    stateDir: config.stateDir,
    modelStore: config.modelStore,
    root: config.root,
    nvidiaSmi: config.nvidiaSmi,
    inferenceUrl: config.inferenceUrl,
    ...(config.gpuHost !== null ? { host: config.gpuHost } : {}),
    log,
  });
  await running.http.listen({ host: config.host, port: config.port });
  const policy = running.watch.policyView();
  log.info(
    {
      port: config.port,
      host: running.watch.host,
      root: config.root,
      inference: config.inferenceUrl,
      watching: policy.active,
      ...(policy.problem ? { policyProblem: policy.problem } : {}),
    },
    'GPU integrity watch ready',
  );

  stopOnSignals(rt, log, async () => {
    await running.http.close();
    await running.stop();
  });
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'GPU integrity watch failed to start');
  process.exit(1);
});

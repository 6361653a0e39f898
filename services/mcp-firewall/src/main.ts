import { createLogger, startServiceRuntime, stopOnSignals } from '@secai/streams';
import { loadConfig } from './config.js';
import { startMcpFirewall } from './service.js';

const SERVICE = 'mcp-firewall';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const firewall = await startMcpFirewall(rt, {
    log,
    outputLimitBytes: config.outputLimitBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    connectTimeoutMs: config.connectTimeoutMs,
    idleMs: config.idleMs,
  });
  await firewall.http.listen({ host: config.host, port: config.port });
  log.info({ port: config.port }, 'mcp firewall ready');
  stopOnSignals(rt, log, () => firewall.stop());
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'mcp firewall failed to start');
  process.exit(1);
});

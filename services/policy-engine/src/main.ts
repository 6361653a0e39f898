import { createLogger, startServiceRuntime, stopOnSignals, watchBus } from '@secai/streams';
import { serveCommands } from './commandHandlers.js';
import { ensurePolicyDir, loadConfig } from './config.js';
import { runPromotionConsumer } from './consumer.js';
import { PolicyEngine } from './engine.js';
import { buildHttp } from './http.js';
import { PolicyHost } from './policyHost.js';
import { groupCommitRecorder } from './decisionLog.js';

const SERVICE = 'policy-engine';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  if ((await ensurePolicyDir(config.policyDir)) === 'created')
    log.info({ dir: config.policyDir }, 'installed the default policy');
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const engine = new PolicyEngine();
  // Group commit: decisions arriving together are recorded as one event (one signature, made on
  // this thread from each decision's JSON text); each answer waits for the acknowledgement of the
  // event that holds it. A worker thread cost more than it saved (README, Group commit).
  const recorder = groupCommitRecorder(rt.js, rt.signer);
  const host = new PolicyHost(engine, rt.store, config.policyDir, log);
  // A refused policy at start leaves the engine without one: it then denies everything (fail
  // closed) and says so on /health, rather than refusing to start.
  const first = await host.reload('startup');
  if (!first.ok)
    log.error({ problems: first.problems.length }, 'no valid policy: every decision is deny');
  host.watch();
  const subs = serveCommands(rt.nc, {
    engine,
    host,
    recorder,
    signer: rt.signer,
    trust: rt.trust,
    log,
  });
  const consumer = await runPromotionConsumer(rt.js, rt.jsm, {
    engine,
    recorder,
    store: rt.store,
    log,
  });
  const bus = watchBus(rt.nc);
  const http = buildHttp({ engine, host, recorder, trust: rt.trust, bus, log });
  await http.listen({ host: config.host, port: config.port });
  log.info({ port: config.port, policy: engine.snapshot?.digest ?? null }, 'policy engine ready');

  process.on('SIGHUP', () => void host.reload('signal'));
  stopOnSignals(rt, log, async () => {
    host.close();
    await http.close();
    bus.stop();
    for (const s of subs) s.unsubscribe();
    await consumer.stop();
  });
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'policy engine failed to start');
  process.exit(1);
});

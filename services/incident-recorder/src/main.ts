import { createLogger, serveCommand, startServiceRuntime } from '@secai/streams';
import { loadConfig } from './config.js';
import { buildHttp } from './http.js';
import { startSealer } from './sealer/follower.js';

const SERVICE = 'incident-recorder';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const log = createLogger(SERVICE);
  const config = loadConfig(process.env);
  const rt = await startServiceRuntime(SERVICE, {
    stateDir: config.stateDir,
    version: VERSION,
    config,
  });
  const sealer = startSealer(rt, config.seal, log);
  const sub = serveCommand(rt.nc, {
    command: 'incident-recorder.seal',
    signer: rt.signer,
    trust: rt.trust,
    handle: async (req, ctx) => {
      log.info({ caller: ctx.caller, reason: req.reason }, 'seal requested');
      const result = await sealer.sealNow(ctx.requestId);
      return { ok: true, ...result };
    },
    onRejected: (err, _bytes, natsSubject) => {
      log.warn({ code: err.code, natsSubject }, 'refused a seal command');
    },
    onError: (err) => log.error({ err }, 'seal command failed'),
  });
  const http = buildHttp({
    health: () => {
      const s = sealer.status();
      return {
        ok: s.mismatches === 0 && s.lastError === null,
        chain: {
          lastSeq: s.lastSeq,
          sealedToSeq: s.sealedToSeq,
          head: s.head,
          mismatches: s.mismatches,
        },
      };
    },
  });
  await http.listen({ host: config.host, port: config.port });
  log.info({ port: config.port }, 'incident recorder ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await http.close();
    sub.unsubscribe();
    await sealer.stop();
    await rt.close(`signal ${signal}`);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  createLogger(SERVICE).fatal({ err }, 'incident recorder failed to start');
  process.exit(1);
});

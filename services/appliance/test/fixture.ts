import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import {
  createSigner,
  decodePayload,
  loadServiceIdentity,
  loadTrustBundle,
  loadTrustStore,
  parseEnvelope,
  type CloudEvent,
} from '@secai/contracts';
import {
  connectAs,
  loadNatsUser,
  readHistory,
  streamBounds,
  type NatsConnection,
} from '@secai/streams';
import { boot, type BootOptions, type BootedAppliance } from '../src/index.js';

/** A booted appliance in a temp state dir, with its log lines kept for assertions. */
export interface BootedForTest {
  dir: string;
  stateDir: string;
  appliance: BootedAppliance;
  logs: { level: number; msg: string; [k: string]: unknown }[];
  /** A connection as one identity, with that identity's real NATS credentials. */
  connect(identity: string): Promise<NatsConnection>;
  signer(identity: string): Promise<ReturnType<typeof createSigner>>;
  trust(): Promise<Awaited<ReturnType<typeof loadTrustStore>>>;
  /** Every event on `secai.evt.<filter>` so far, decoded (not verified: the test reads). */
  events(filter: string): Promise<CloudEvent[]>;
  /** pid of the appliance's nats-server, from its ports file (what `kill -9` targets). */
  natsPid(): Promise<number | null>;
  cleanup(): Promise<void>;
}

export async function bootForTest(
  options: Omit<BootOptions, 'stateDir' | 'log'>,
): Promise<BootedForTest> {
  const dir = await mkdtemp(join(tmpdir(), 'secai-bus-'));
  const stateDir = join(dir, 'state');
  const logs: BootedForTest['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as BootedForTest['logs'][number]);
      done();
    },
  });
  const appliance = await boot({
    stateDir,
    natsPort: 0,
    log: pino({ level: 'info' }, sink),
    ...options,
  });
  const opened: NatsConnection[] = [];
  const ctx: BootedForTest = {
    dir,
    stateDir,
    appliance,
    logs,
    async connect(identity) {
      const nc = await connectAs({
        url: appliance.natsUrl,
        user: await loadNatsUser(stateDir, identity),
        asyncTraces: true,
      });
      opened.push(nc);
      return nc;
    },
    signer: async (identity) => createSigner(await loadServiceIdentity(stateDir, identity)),
    trust: async () => loadTrustStore(await loadTrustBundle(stateDir), { now: new Date() }),
    async events(filter) {
      const nc = await ctx.connect('cli');
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      const { lastSeq } = await streamBounds(jsm, 'SECAI_EVENTS');
      const out: CloudEvent[] = [];
      if (lastSeq === 0) return out;
      for await (const e of readHistory(js, jsm, 'SECAI_EVENTS', {
        toSeq: lastSeq,
        filterSubject: `secai.evt.${filter}`,
      }))
        out.push(decodePayload(parseEnvelope(e.bytes)));
      await nc.close();
      return out;
    },
    async natsPid() {
      const files = await readdir(join(stateDir, 'run', 'nats')).catch(() => [] as string[]);
      const m = files.map((f) => /^nats-server_(\d+)\.ports$/.exec(f)).find((x) => x);
      return m ? Number(m[1]) : null;
    },
    async cleanup() {
      await Promise.all(opened.map((nc) => nc.close().catch(() => undefined)));
      await appliance.shutdown('test over');
      await rm(dir, { recursive: true, force: true });
    },
  };
  return ctx;
}

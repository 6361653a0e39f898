import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { decodePayload, parseEnvelope } from '@secai/contracts';
import { connectAs, loadNatsUser, readHistory, streamBounds } from '@secai/streams';
import { boot, type BootedAppliance } from '../src/index.js';

// A service that starts properly (its own identity, service.started) and then crashes: the
// supervisor must restart it a bounded number of times, then record service.failed.
const streamsDist = new URL('../../../streams/dist/index.js', import.meta.url).href;
const FLAKY = `
import { startServiceRuntime } from ${JSON.stringify(streamsDist)};
const rt = await startServiceRuntime(process.env.SECAI_SERVICE, { stateDir: process.env.SECAI_STATE_DIR, version: '0.0.0', config: {} });
setTimeout(() => process.exit(7), 200);
`;

let dir: string;
let appliance: BootedAppliance;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-boot-'));
  const entry = join(dir, 'flaky.mjs');
  await writeFile(entry, FLAKY);
  appliance = await boot({
    stateDir: join(dir, 'state'),
    natsPort: 0,
    log: pino({ level: 'silent' }),
    services: [
      {
        name: 'agent',
        entry: pathToFileURL(entry).href,
        dependsOn: [],
        port: undefined,
      },
    ],
    restartPolicy: { maxRestarts: 2, windowMs: 60_000, baseDelayMs: 50, maxDelayMs: 200 },
  });
});

afterAll(async () => {
  await appliance?.shutdown('test over');
  await rm(dir, { recursive: true, force: true });
});

describe('boot supervisor', () => {
  it('keeps keys and seeds private in the state dir', async () => {
    const state = join(dir, 'state');
    expect((await stat(join(state, 'identity', 'services', 'agent', 'key.pem'))).mode & 0o777).toBe(
      0o600,
    );
    expect((await stat(join(state, 'nats', 'users', 'agent.nk'))).mode & 0o777).toBe(0o600);
    expect((await stat(state)).mode & 0o077).toBe(0);
  });

  it('restarts a crashing service a bounded number of times, then records service.failed', async () => {
    const state = join(dir, 'state');
    const nc = await connectAs({ url: appliance.natsUrl, user: await loadNatsUser(state, 'cli') });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const deadline = Date.now() + 20_000;
    let types: string[] = [];
    while (!types.includes('service.failed')) {
      if (Date.now() > deadline) throw new Error(`no service.failed; saw ${types.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
      const { lastSeq } = await streamBounds(jsm, 'SECAI_EVENTS');
      types = [];
      for await (const e of readHistory(js, jsm, 'SECAI_EVENTS', {
        toSeq: lastSeq,
        filterSubject: 'secai.evt.service.agent',
      })) {
        const event = decodePayload(parseEnvelope(e.bytes));
        types.push(event.type);
        if (event.type === 'service.failed')
          expect(event.data).toMatchObject({
            service: 'agent',
            restartsInWindow: 2,
            lastExitCode: 7,
          });
      }
    }
    expect(types.filter((t) => t === 'service.started')).toHaveLength(3);
    expect(appliance.status()).toEqual([
      expect.objectContaining({ name: 'agent', state: 'failed', restarts: 2 }),
    ]);
    await nc.close();
  });
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusSource } from '../src/index.js';

// Where the page's websocket URL comes from: runtime.json (boot writes it and may change it),
// else what boot put in the environment; anything but a plain ws(s) URL is no URL.

let dir: string;
const clock = { now: 0 };
const bundle = { version: 1 as const, root: 'PEM', certificates: [], revocations: [] };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-ui-bus-'));
  await mkdir(join(dir, 'run'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const source = (fallback: string | null = null) =>
  new BusSource({
    stateDir: dir,
    rootKeyid: 'k',
    trustBundle: () => bundle,
    fallbackWebsocketUrl: fallback,
    now: () => clock.now,
  });
const runtime = (extra: Record<string, unknown>) =>
  writeFile(join(dir, 'run', 'runtime.json'), JSON.stringify({ pid: 1, natsUrl: 'x', ...extra }));

describe('BusSource.websocketUrl', () => {
  it('given runtime.json names one, then that one, before the environment', async () => {
    await runtime({ natsWebsocketUrl: 'ws://127.0.0.1:4281/' });
    expect(await source('ws://127.0.0.1:9999').websocketUrl()).toBe('ws://127.0.0.1:4281');
  });

  it('given runtime.json without it (or none), then the environment, else none', async () => {
    expect(await source('ws://127.0.0.1:9999').websocketUrl()).toBe('ws://127.0.0.1:9999');
    await runtime({});
    expect(await source().websocketUrl()).toBeNull();
  });

  it('given anything but a ws(s) URL, then none (it goes into the CSP)', async () => {
    for (const bad of ["ws://x; script-src 'unsafe-inline'", 'http://127.0.0.1:1', 42, null]) {
      clock.now += 10_000;
      await runtime({ natsWebsocketUrl: bad });
      expect(await source().websocketUrl(), String(bad)).toBeNull();
    }
  });

  it('given a missing dashboard seed, then the credentials are 503 BUS_UNAVAILABLE', async () => {
    await runtime({ natsWebsocketUrl: 'ws://127.0.0.1:4281' });
    await expect(source().credentials()).rejects.toMatchObject({ code: 'BUS_UNAVAILABLE' });
  });
});

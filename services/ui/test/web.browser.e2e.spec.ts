import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { signEvent, type DraftEvent } from '@secai/contracts';
import { createRogueSigner } from '@secai/contracts/testing';
import { startTestAppliance, type TestAppliance } from '@secai/streams/testing';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUi, type RunningUi } from '../src/index.js';

// The page in headless Chromium against the real UI service over a real nats-server with its
// websocket listener (issue 14 §4, a first slice): first-boot setup, login, the live overview,
// a forged envelope shown as refused, the CSP, the lockout. The bundle is built by Vite from
// the sources into a temporary directory, so the test never runs a stale page.

const CHROMIUM = process.env.SECAI_CHROMIUM ?? '/usr/bin/chromium';
const PASSPHRASE = 'correct horse battery staple';
const SCREENSHOTS = process.env.SECAI_SCREENSHOTS ?? join(tmpdir(), 'secai-ui-screenshots');
const WEB_CONFIG = fileURLToPath(new URL('../web/vite.config.ts', import.meta.url));

let app: TestAppliance;
let dir: string;
let ui: RunningUi;
let browser: Browser;
let page: Page;
let base: string;
const logLines: string[] = [];
const pageErrors: string[] = [];

const started = (service: string): DraftEvent<'service.started'> => ({
  type: 'service.started',
  aggregateId: service,
  data: {
    service: service as 'registry',
    version: '9.9.9',
    pid: 4242,
    configDigest: `sha256:${'c'.repeat(64)}`,
  },
});

beforeAll(async () => {
  app = await startTestAppliance({ websocket: {} });
  dir = await mkdtemp(join(tmpdir(), 'secai-ui-browser-'));
  const stateDir = join(dir, 'state');
  await mkdir(join(stateDir, 'nats', 'users'), { recursive: true, mode: 0o700 });
  await mkdir(join(stateDir, 'run'), { recursive: true });
  await copyFile(
    join(app.nats.dir, 'nats', 'users', 'dashboard.nk'),
    join(stateDir, 'nats', 'users', 'dashboard.nk'),
  );
  await writeFile(
    join(stateDir, 'run', 'runtime.json'),
    JSON.stringify({
      pid: process.pid,
      natsUrl: app.nats.url,
      natsWebsocketUrl: app.nats.websocketUrl,
      startedAt: '',
      stateDir,
    }),
  );
  const webDist = join(dir, 'dist');
  await build({
    configFile: WEB_CONFIG,
    logLevel: 'warn',
    build: { outDir: webDist, emptyOutDir: true },
  });

  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
  );
  ui = await startUi(await app.client('ui', { liveTrust: true }), {
    stateDir,
    rootKeyid: app.pki.trust.rootKeyid,
    webDist,
    log,
    recorderUrl: null,
    scrypt: { N: 2 ** 14, r: 8, p: 1, keyLength: 64 },
  });
  await ui.http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(ui.http.server.address() as { port: number }).port}`;

  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${m.text()} ${m.location().url}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await app?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function setupCode(): string {
  const line = logLines.find((l) => l.includes('UI setup code: '));
  if (!line) throw new Error('no setup code was logged');
  return (JSON.parse(line) as { msg: string }).msg.slice('UI setup code: '.length);
}

describe('the dashboard in Chromium', () => {
  it('first boot: the setup code and a passphrase, then login', async () => {
    const answer = await page.goto(`${base}/`);
    expect(answer?.headers()['content-security-policy']).toMatch(/script-src 'self' 'nonce-[^']+'/);
    await page.getByTestId('setup-form').waitFor();
    await page.getByTestId('setup-code').fill(setupCode());
    await page.getByTestId('setup-operator').fill('alice');
    await page.getByTestId('setup-passphrase').fill(PASSPHRASE);
    await page.getByTestId('setup-passphrase-repeat').fill(PASSPHRASE);
    await page.getByTestId('setup-submit').click();
    await page.getByTestId('login-form').waitFor();
    await page.getByTestId('login-passphrase').fill(PASSPHRASE);
    await page.getByTestId('login-submit').click();
    await page.locator('[data-testid="bus-status"][data-phase="live"]').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'overview-empty.png'), fullPage: true });
  });

  it('shows a service that starts, live, without a reload', async () => {
    const registry = await app.client('registry');
    await registry.store.appendServiceEvent(started('registry'));
    const row = page.locator('[data-testid="service-row"][data-service="registry"]');
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('running');
    await registry.nc.close();
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
  });

  it('shows an envelope signed by a key the root never issued as refused, never as the service', async () => {
    const forged = signEvent(started('quarantine'), createRogueSigner('quarantine'), {
      now: new Date(),
    });
    const h = natsHeaders();
    h.set('Secai-Type', 'service.started');
    await app.admin.js.publish('secai.evt.service.quarantine', forged.bytes, { headers: h });
    await page.getByTestId('nav-events').click();
    const refused = page.locator('[data-testid="refused-row"][data-code="KEY_UNKNOWN"]');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('claims service.started');
    await page.getByTestId('nav-overview').click();
    await page.locator('[data-testid="service-row"][data-service="registry"]').waitFor();
    expect(
      await page.locator('[data-testid="service-row"][data-service="quarantine"]').count(),
    ).toBe(0);
  });

  it('renders every page; nothing on them broke the CSP or threw', async () => {
    for (const name of [
      'events',
      'quarantine',
      'models',
      'incidents',
      'decisions',
      'overview',
    ] as const) {
      await page.getByTestId(`nav-${name}`).click();
      await page.waitForURL(name === 'overview' ? `${base}/` : `${base}/${name}`);
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    }
    expect(pageErrors).toEqual([]);
  });

  it('after logout, five wrong passphrases lock the login out', async () => {
    await page.getByTestId('logout-button').click();
    await page.getByTestId('login-form').waitFor();
    for (let i = 0; i < 5; i++) {
      await page.getByTestId('login-passphrase').fill(`wrong ${i}`);
      await page.getByTestId('login-submit').click();
      await page.getByTestId('login-error').waitFor();
    }
    await page.getByTestId('login-passphrase').fill(PASSPHRASE);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('lockout-message').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'lockout.png'), fullPage: true });
  });
});

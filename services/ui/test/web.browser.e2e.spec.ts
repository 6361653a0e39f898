import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { signEvent, type DraftEvent } from '@secai/contracts';
import { createRogueSigner } from '@secai/contracts/testing';
import { startRecorder, type RunningRecorder } from '@secai/incident-recorder';
import { verifyBundle } from '@secai/projections';
import {
  fakeContainmentTarget,
  startTestAppliance,
  type FakeTarget,
  type TestAppliance,
  recordFreshAttestation,
} from '@secai/streams/testing';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUi, type RunningUi } from '../src/index.js';
import { fixture } from './webFixtures.js';

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
let recorder: RunningRecorder;
let vault: FakeTarget;
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
  // The real recorder: it opens incidents, answers the page's acknowledge/resolve commands,
  // seals the chain (often, so the page has seals to recompute) and serves the export.
  recorder = await startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'policy'),
    seal: { everyEvents: 5, everyMs: 300 },
    log: pino({ level: 'silent' }),
  });
  const recorderUrl = await recorder.http.listen({ host: '127.0.0.1', port: 0 });
  vault = fakeContainmentTarget(await app.client('appliance'), 'appliance.relock_vault', app.pki);
  ui = await startUi(await app.client('ui', { liveTrust: true }), {
    stateDir,
    rootKeyid: app.pki.trust.rootKeyid,
    webDist,
    log,
    recorderUrl,
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
  vault?.stop();
  await recorder?.stop();
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

  it('shows a quarantine run whose stages appear as they pass or fail, and plots their times', async () => {
    await page.getByTestId('nav-quarantine').click();
    const quarantine = await app.client('quarantine');
    const artifact = 'ab'.repeat(32);
    const append = (type: string, data: unknown) =>
      quarantine.store.append([{ type, aggregateId: artifact, data } as never], {
        expectedSequence: 'any',
      });
    await append('quarantine.started', fixture('quarantine.started'));
    const run = page.locator(`[data-testid="run-card"][data-artifact="${artifact}"]`);
    await run
      .locator('[data-testid="stage-row"][data-stage="format_gate"][data-status="pending"]')
      .waitFor();
    await append('quarantine.stage.passed', fixture('quarantine.stage.passed'));
    await run
      .locator('[data-testid="stage-row"][data-stage="format_gate"][data-status="passed"]')
      .waitFor();
    const failed = fixture<{ stage: string }>('quarantine.stage.failed');
    await append('quarantine.stage.failed', failed);
    await run
      .locator(`[data-testid="stage-row"][data-stage="${failed.stage}"][data-status="failed"]`)
      .waitFor();
    expect(await run.getAttribute('data-status')).toBe('failed');
    await page.locator('[data-testid="stage-time-row"][data-stage="format_gate"]').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'quarantine-run.png'), fullPage: true });
    await quarantine.nc.close();
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

  it('shows an incident on the board live; resolving it from the page lands in its timeline; its export downloads and verifies', async () => {
    await page.getByTestId('nav-incidents').click();
    const monitor = await app.client('integrity-monitor');
    await monitor.store.append(
      [
        {
          type: 'integrity.violation.detected',
          aggregateId: 'service_binary',
          data: {
            pathClass: 'service_binary',
            path: '/usr/libexec/secai/registry',
            kind: 'modified',
            expected: `sha256:${'0'.repeat(64)}`,
            actual: `sha256:${'1'.repeat(64)}`,
            severity: 'critical',
          },
        },
      ],
      { expectedSequence: 'any' },
    );
    const card = page.locator('[data-testid="incident-card"][data-class="integrity_violation"]');
    await card.waitFor();
    const id = (await card.getAttribute('data-incident-id'))!;
    expect(await card.getAttribute('data-severity')).toBe('critical');
    await card.getByTestId('incident-open').click();
    const detail = page.getByTestId('incident-detail');
    await detail.locator('[data-testid="timeline-entry"][data-phase="outcome"]').waitFor();

    // The recovery ceremony needs a fresh attestation before the incident may be resolved.
    await recordFreshAttestation(app);
    await page.getByTestId('incident-note').fill('binary restored');
    await page.getByTestId('incident-resolve').click();
    await detail.locator('[data-testid="timeline-entry"][data-phase="ceremony"]').waitFor();
    expect(
      await detail.locator('[data-testid="timeline-entry"][data-phase="ceremony"]').textContent(),
    ).toContain('resolved by alice');
    // Resolved, then acknowledged: released.
    await page.getByTestId('incident-ack').click();
    await detail
      .locator('[data-testid="timeline-entry"][data-phase="ceremony"]', {
        hasText: 'acknowledged by alice',
      })
      .waitFor();
    await page
      .locator(
        `[data-testid="incident-card"][data-incident-id="${id}"][data-status="acknowledged"]`,
      )
      .waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'incident.png'), fullPage: true });

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('incident-export').click(),
    ]);
    const file = join(dir, `${id}.jsonl`);
    await download.saveAs(file);
    const report = await verifyBundle(file, { expectedRootKeyid: app.pki.trust.rootKeyid });
    expect(report.failures).toEqual([]);
    await monitor.nc.close();
  });

  it("recomputes the recorder's seals over the entries on screen, and they match", async () => {
    await page.getByTestId('nav-overview').click();
    const coverage = page.getByTestId('chain-coverage');
    // Page-side code is given as text: this file is compiled without the DOM's types.
    await page.waitForFunction(
      `/covered by seals recomputed here/.test(document.querySelector('[data-testid="chain-coverage"]')?.textContent ?? '')`,
    );
    expect(await coverage.getAttribute('data-mismatch')).toBe('false');
  });

  it('does not run a script injected into the page (CSP without unsafe-inline)', async () => {
    const ran = await page.evaluate<{ directive: string; injected: boolean }>(`(async () => {
      const violation = new Promise((resolve) =>
        document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true }),
      );
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true;';
      document.body.appendChild(script);
      const directive = await violation;
      return { directive, injected: window.__injected === true };
    })()`);
    expect(ran.injected).toBe(false);
    expect(ran.directive).toMatch(/^script-src/);
    // The violation is reported on the console; nothing else may be.
    pageErrors.splice(
      0,
      pageErrors.length,
      ...pageErrors.filter((e) => !e.includes('Content Security Policy')),
    );
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

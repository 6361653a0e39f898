import { access, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signEvent } from '@secai/contracts';
import { SERVICE_DEFINITIONS } from '@secai/appliance';
import { writeTinyLlamaGguf } from '@secai/quarantine/testing';
import { connectIdentity, headers as natsHeaders, pinnedRootKeyid } from '@secai/streams';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEB_DIST } from '../src/config.js';
import {
  flipSignatureBit,
  launchChromium,
  readElements,
  type ElementSeen,
  readSetupCode,
  recordStageRows,
  screenshotDir,
  secai,
  startBoot,
  type Booted,
  stageLog,
  tamperLastByte,
  uiBaseUrl,
  waitUntil,
  withFlippedSignature,
} from './browserAppliance.js';

// The dashboard in headless Chromium against the whole booted appliance (issue 14 §4): every
// service its own process, the UI service on 8480 + offset serving the built page, the page on
// the bus's websocket as `dashboard`. One boot for the file; the tests run in order and build on
// each other (setup → lockout → overview → import → tamper → forged event → CSP). A screenshot of
// each page goes to `$SECAI_SCREENSHOTS/appliance` (default: <tmp>/secai-ui-screenshots/appliance).

const PASSPHRASE = 'correct horse battery staple, twice';
const OPERATOR = 'alice';
const MODEL_NAME = 'Browser Tiny';

let stateDir: string;
let work: string;
let booted: Booted | undefined;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;
let shots: string;
let modelHex: string;
const pageErrors: string[] = [];

async function shot(name: string, on: Page = page): Promise<void> {
  await on.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function goTo(name: 'overview' | 'events' | 'quarantine' | 'models' | 'incidents') {
  await page.getByTestId(`nav-${name}`).click();
  await page.waitForURL(name === 'overview' ? `${base}/` : `${base}/${name}`);
}

beforeAll(async () => {
  // The booted UI serves services/ui/web/dist; `npm run build` (and `npm test`'s setup) makes it.
  await access(join(DEFAULT_WEB_DIST, 'index.html')).catch(() => {
    throw new Error(`no page bundle at ${DEFAULT_WEB_DIST}: run \`npm run build\` first`);
  });
  stateDir = await mkdtemp(join(tmpdir(), 'secai-ui-appliance-'));
  work = await mkdtemp(join(tmpdir(), 'secai-ui-appliance-src-'));
  shots = await screenshotDir();
  console.log(`browser screenshots: ${shots}`);
  booted = await startBoot(stateDir);
  base = await uiBaseUrl(stateDir);
  browser = await launchChromium();
  context = await browser.newContext({
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await booted?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

describe('the dashboard of a booted appliance, in Chromium', () => {
  it('first boot: the setup code from the state dir and a passphrase, then login', async () => {
    await page.goto(`${base}/`);
    await page.getByTestId('setup-form').waitFor();
    await shot('setup');
    await page.getByTestId('setup-code').fill(await readSetupCode(stateDir));
    await page.getByTestId('setup-operator').fill(OPERATOR);
    await page.getByTestId('setup-passphrase').fill(PASSPHRASE);
    await page.getByTestId('setup-passphrase-repeat').fill(PASSPHRASE);
    await page.getByTestId('setup-submit').click();
    await page.getByTestId('login-form').waitFor();
    // The code is consumed: the UI removed it.
    await waitUntil('the setup code to be consumed', () =>
      stat(join(stateDir, 'ui', 'setup-code')).then(
        () => false,
        () => true,
      ),
    );
    await page.getByTestId('login-passphrase').fill(PASSPHRASE);
    await page.getByTestId('login-submit').click();
    await page
      .locator('[data-testid="bus-status"][data-phase="live"]')
      .waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('nav-account').textContent()).resolves.toBe(OPERATOR);
  });

  it('five wrong passphrases lock another browser out; the right one is refused while locked; the first session stays', async () => {
    const other = await browser.newContext();
    try {
      const second = await other.newPage();
      await second.goto(`${base}/`);
      await second.getByTestId('login-form').waitFor();
      const statuses: number[] = [];
      const attempt = async (passphrase: string) => {
        await second.getByTestId('login-passphrase').fill(passphrase);
        const answer = second.waitForResponse((r) => r.url() === `${base}/api/auth/login`);
        await second.getByTestId('login-submit').click();
        statuses.push((await answer).status());
        // The form is ready again once the answer is handled.
        await second.locator('[data-testid="login-submit"]:not([disabled])').waitFor();
      };
      for (let i = 1; i <= 5; i++) {
        await attempt(`wrong passphrase number ${i}`);
        await second.getByTestId('login-error').waitFor();
      }
      await attempt(PASSPHRASE);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      await second.getByTestId('lockout-message').waitFor();
      expect(await second.getByTestId('lockout-message').textContent()).toMatch(
        /locked for \d+ seconds/,
      );
      await shot('lockout', second);
      const status = await second.evaluate(() =>
        fetch('/api/auth/status').then((r) => r.json() as Promise<{ authenticated: boolean }>),
      );
      expect(status.authenticated).toBe(false);
    } finally {
      await other.close();
    }
    // Locking the address out ends no session: the first browser is still logged in.
    const first = await page.evaluate(() =>
      fetch('/api/auth/status').then((r) => r.json() as Promise<{ authenticated: boolean }>),
    );
    expect(first.authenticated).toBe(true);
  });

  it('the overview shows every service of the appliance running', async () => {
    await goTo('overview');
    const names = SERVICE_DEFINITIONS.map((s) => s.name);
    let rows: ElementSeen[] = [];
    const seen = await waitUntil(
      'a running row for every service',
      async () => {
        rows = await readElements(page, '[data-testid="service-row"]', [
          'data-service',
          'data-status',
        ]);
        const now = rows.map((r) => [r.attrs['data-service'], r.attrs['data-status']] as const);
        const running = new Set(now.filter(([, s]) => s === 'running').map(([n]) => n));
        return names.every((n) => running.has(n)) ? now : null;
      },
      60_000,
      () => JSON.stringify(rows.map((r) => r.attrs)),
    );
    // Every row the page shows says running, not only the ones named.
    expect(seen.filter(([, status]) => status !== 'running')).toEqual([]);
    await shot('overview');
  });

  it('imports a model from the Quarantine page: its stages pass one after another, live, until it is promoted; the Models page lists it', async () => {
    // The UI may import from the appliance's staging area only (the quarantine refuses it any
    // other path).
    const staging = join(stateDir, 'import-staging');
    await mkdir(staging, { recursive: true, mode: 0o770 });
    const path = join(staging, 'browser-tiny.gguf');
    // Seed 3: a tiny model whose answers the behavioural stage accepts (as the cli's model e2e).
    await writeTinyLlamaGguf(path, { seed: 3 });
    await goTo('quarantine');
    expect(await page.locator('[data-testid="run-card"]').count()).toBe(0);
    await recordStageRows(page);
    await page.getByTestId('import-path').fill(path);
    await page.getByTestId('import-name').fill(MODEL_NAME);
    await page.getByTestId('import-submit').click();
    const outcome = page.locator('[data-testid="run-card"] [data-testid="run-outcome"]');
    let shown = '';
    await waitUntil(
      'the run to finish',
      async () => {
        const result = await readElements(page, '[data-testid="import-result"]', []);
        shown = `${result[0]?.text ?? '(no import result)'} ${JSON.stringify((await stageLog(page)).at(-1))}`;
        return (await outcome.count()) > 0;
      },
      200_000,
      () => shown,
    );
    expect(await outcome.textContent()).toContain(`Promoted as ${MODEL_NAME}`);
    await expect(page.getByTestId('import-result').getAttribute('class')).resolves.toBe('ok-text');
    await shot('quarantine');

    const log = await stageLog(page);
    const runs = log.map((cards) => cards[0]).filter((c) => c !== undefined);
    const last = runs.at(-1)!;
    expect(last.status).toBe('promoted');
    const total = last.stages.length;
    expect(total).toBeGreaterThanOrEqual(5);
    expect(last.stages.every((s) => s.status === 'passed')).toBe(true);
    // The run was on screen while it ran, with some stages passed and others still pending...
    const passedCounts = runs.map((r) => r.stages.filter((s) => s.status === 'passed').length);
    expect(runs[0]!.status).toBe('running');
    expect(passedCounts.some((n) => n > 0 && n < total)).toBe(true);
    // ...and no stage row ever went back, nor did a stage pass before the ones planned before it.
    for (const [i, run] of runs.entries()) {
      const statuses = run.stages.map((s) => s.status);
      const firstPending = statuses.indexOf('pending');
      if (firstPending !== -1)
        expect(statuses.slice(firstPending), JSON.stringify(run)).not.toContain('passed');
      if (i > 0) expect(passedCounts[i]).toBeGreaterThanOrEqual(passedCounts[i - 1]!);
    }

    await goTo('models');
    const row = page.locator('[data-testid="model-row"]', { hasText: MODEL_NAME });
    await row.waitFor({ timeout: 60_000 });
    modelHex = (await row.getAttribute('data-digest'))!;
    expect(modelHex).toMatch(/^[0-9a-f]{64}$/);
    expect(['stored', 'verified']).toContain(await row.getAttribute('data-status'));
    await shot('models');
  }, 240_000);

  it('a model file tampered in the store: the incident appears on the board without a reload, and its export downloads and verifies offline', async () => {
    await goTo('incidents');
    await page.getByTestId('incident-board').waitFor();
    const cardsNow = () =>
      readElements(page, '[data-testid="incident-card"]', ['data-incident-id']).then((cards) =>
        cards.map((c) => ({ id: c.attrs['data-incident-id'] ?? '', text: c.text })),
      );
    const before = new Set((await cardsNow()).map((c) => c.id));
    // A mark in the page's window: a reload would wipe it.
    await page.evaluate('window.__sameDocument = true');

    const dir = join(stateDir, 'registry', 'store', 'sha256', modelHex);
    const file = join(dir, 'browser-tiny.gguf');
    await waitUntil('the stored model file', () => stat(file).catch(() => null), 30_000);
    await tamperLastByte(file);
    // Asked at once rather than left to the integrity monitor's watcher, which may still get
    // there first (and the recorder contain the model): either way the file must not verify.
    const verify = await secai(['model', 'verify', modelHex, '--state-dir', stateDir]);
    expect(verify.code, verify.stdout + verify.stderr).not.toBe(0);

    const card = await waitUntil(
      'a new incident card about the tampered model',
      async () => {
        const cards = await cardsNow();
        return cards.find((c) => !before.has(c.id) && c.text.includes(modelHex));
      },
      120_000,
    );
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    const cardLocator = page.locator(
      `[data-testid="incident-card"][data-incident-id="${card.id}"]`,
    );
    await cardLocator.getByTestId('incident-open').click();
    const detail = page.locator(`[data-testid="incident-detail"][data-incident-id="${card.id}"]`);
    await detail.waitFor();
    await detail.locator('[data-testid="timeline-entry"]').first().waitFor();
    await shot('incidents');

    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 120_000 }),
      detail.getByTestId('incident-export').click(),
    ]);
    expect(await download.failure()).toBeNull();
    expect(download.suggestedFilename()).toBe(`incident-${card.id}.bundle.jsonl`);
    const bundle = join(work, download.suggestedFilename());
    await download.saveAs(bundle);
    const text = await readFile(bundle, 'utf8');
    expect(text).toContain(modelHex);

    // Offline: a state dir with nothing in it, no bus; only the root keyid to expect.
    const elsewhere = await mkdtemp(join(tmpdir(), 'secai-ui-offline-'));
    try {
      const rootKeyid = await pinnedRootKeyid(stateDir);
      const args = ['--state-dir', elsewhere, '--expect-root', rootKeyid, '--json'];
      const ok = await secai(['events', 'verify', '--bundle', bundle, ...args]);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, failures: [] });
      // The same check refuses the bundle with one entry's signature altered.
      const lines = text.split('\n');
      const at = lines.findIndex((l) => l.includes('"envelope"'));
      const entry = JSON.parse(lines[at]!) as { envelope: { signatures: { sig: string }[] } };
      lines[at] = JSON.stringify({ ...entry, envelope: withFlippedSignature(entry.envelope) });
      const altered = join(work, 'altered.bundle.jsonl');
      await writeFile(altered, lines.join('\n'));
      const bad = await secai(['events', 'verify', '--bundle', altered, ...args]);
      expect(bad.code).toBe(1);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it("an event signed with the registry's own key but a flipped signature bit is shown as refused, never as fact", async () => {
    await goTo('overview');
    await page
      .locator('[data-testid="service-row"][data-service="registry"][data-status="running"]')
      .waitFor();
    // The test speaks as the registry: its NATS user and its signing key from the state dir.
    const registry = await connectIdentity('registry', { stateDir });
    let seq: number;
    try {
      const forged = signEvent(
        {
          type: 'service.stopped',
          aggregateId: 'registry',
          data: { service: 'registry', pid: 4242, reason: 'forged by the browser test' },
        },
        registry.signer,
        { now: new Date() },
      );
      const h = natsHeaders();
      h.set('Secai-Type', 'service.stopped');
      const ack = await registry.js.publish(
        'secai.evt.service.registry',
        flipSignatureBit(forged.bytes),
        { headers: h },
      );
      seq = ack.seq;
    } finally {
      await registry.nc.close();
    }

    await goTo('events');
    const refused = page.locator(`[data-testid="refused-row"][data-seq="${seq}"]`);
    await refused.waitFor({ timeout: 60_000 });
    expect(await refused.getAttribute('data-code')).toBe('SIGNATURE_INVALID');
    expect(await refused.textContent()).toContain('claims service.stopped');
    expect(await page.locator(`[data-testid="event-row"][data-seq="${seq}"]`).count()).toBe(0);
    await shot('events');

    // What it claims did not happen on the page: the registry still runs.
    await goTo('overview');
    const registryRow = page.locator('[data-testid="service-row"][data-service="registry"]');
    await registryRow.waitFor();
    expect(await registryRow.getAttribute('data-status')).toBe('running');
    expect(await registryRow.textContent()).not.toContain('4242');
  });

  it('serves the page with a nonce CSP, and a script injected into it does not run', async () => {
    expect(pageErrors).toEqual([]);
    const nonces = new Set<string>();
    for (const path of ['/', '/events', '/']) {
      const res = await page.request.get(`${base}${path}`);
      const csp = res.headers()['content-security-policy'] ?? '';
      const nonce = /(?:^|; )script-src 'self' 'nonce-([A-Za-z0-9+/=_-]{16,})'(?:;|$)/.exec(
        csp,
      )?.[1];
      expect(nonce, csp).toBeDefined();
      nonces.add(nonce!);
      expect(csp).toContain("object-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      // The page's own scripts carry this response's nonce; nothing else could run.
      const html = await res.text();
      expect(html).toMatch(/<script\b/);
      for (const tag of html.match(/<script\b[^>]*>/g) ?? [])
        expect(tag).toContain(`nonce="${nonce}"`);
    }
    // A fresh nonce per response.
    expect(nonces.size).toBe(3);
    await page.evaluate(`(() => {
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        window.__violations.push(e.effectiveDirective),
      );
    })()`);
    const injected = await page
      .addScriptTag({ content: 'window.__pwned = 1' })
      .then(() => 'added')
      .catch((err: Error) => err.message);
    console.log(`addScriptTag under the CSP: ${injected}`);
    const violations = await waitUntil(
      'a securitypolicyviolation',
      async () => {
        const v = await page.evaluate<string[] | undefined>('window.__violations');
        return v && v.length > 0 ? v : null;
      },
      30_000,
    );
    expect(violations[0]).toMatch(/^script-src/);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
  });
});

import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { eventSubject, signEvent } from '@secai/contracts';
import { TYPE_HEADER, headers } from '@secai/streams';
import { startTestAppliance, type TestAppliance } from '@secai/streams/testing';
import { DEFAULT_WEB_DIST, startUi, type RunningUi } from '@secai/ui';
import { policyDecision } from './events.js';
import { prebuild, publishRawWithHeaders } from './publish.js';
import { throughputRow, type Row } from './report.js';
import { msRow } from './rounds.js';
import { latency, throughput, type Latency, type Throughput } from './stats.js';

// (m) The live dashboard (issue 14 §5), in Debian's headless Chromium against the real UI
// service and the nats-server's websocket listener, logged in as an operator:
// - burst: a burst of signed `policy.decided` envelopes (made ahead, as a recorded burst would be)
//   is published into the stream as fast as JetStream acknowledges it; timed from the first
//   publish until the page's own count of verified events (every envelope verified in the page
//   with WebCrypto and folded, the status line re-rendered) has taken in the whole burst;
// - latency: single events published one at a time, 25 ms apart; for each, the time from the
//   publisher's acknowledgement to the moment its row is added to the Events page (a
//   MutationObserver in the page stamps it). Both clocks are this machine's wall clock
//   (`performance.timeOrigin + performance.now()` on each side).

const CHROMIUM = process.env.SECAI_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PASSPHRASE = 'bench passphrase, long enough';

export interface DashboardBenchOptions {
  /** Envelopes per burst. */
  burst: number;
  rounds: number;
  /** Single events timed from acknowledgement to row. */
  latencyEvents: number;
  log: (message: string) => void;
}

export interface DashboardFigures {
  burst: number;
  /** Events per second JetStream acknowledged while publishing each burst. */
  published: Throughput;
  /** Events per second the page verified and counted, first publish to the last one counted. */
  page: Throughput;
  /** Acknowledgement → row on screen. */
  ackToRow: Latency;
}

export async function dashboardBench(options: DashboardBenchOptions): Promise<DashboardFigures> {
  const { log } = options;
  const setup = await startDashboard();
  try {
    const { app, page } = setup;
    const signer = app.pki.signerFor('policy-engine');
    const publishedRates: number[] = [];
    const pageRates: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const before = await verifiedCount(page);
      const prebuilt = prebuild(options.burst, signer, new Date());
      const started = performance.now();
      const published = await publishRawWithHeaders(
        app.admin.js,
        prebuilt,
        options.burst,
        256,
        `dashboard-${round}-${Date.now()}`,
      );
      await page.waitForFunction(countReaches, before + options.burst, {
        polling: 'raf',
        timeout: 600_000,
      });
      const seconds = (performance.now() - started) / 1000;
      publishedRates.push(options.burst / published.seconds);
      pageRates.push(options.burst / seconds);
      log(
        `dashboard burst ${round + 1}/${options.rounds}: published ${Math.round(options.burst / published.seconds)}/s, page ${Math.round(options.burst / seconds)}/s`,
      );
    }
    const ackToRow = await measureAckToRow(setup, options.latencyEvents);
    log(
      `dashboard ack → row: median ${(ackToRow.medianUs / 1000).toFixed(1)} ms, p99 ${(ackToRow.p99Us / 1000).toFixed(1)} ms`,
    );
    return {
      burst: options.burst,
      published: throughput(options.burst, publishedRates),
      page: throughput(options.burst, pageRates),
      ackToRow,
    };
  } finally {
    await setup.stop();
  }
}

export function dashboardRows(f: DashboardFigures): Row[] {
  return [
    throughputRow(
      'm. dashboard: burst published (JetStream acks)',
      f.published,
      'signed policy.decided made ahead, 256 in flight',
    ),
    throughputRow(
      'm. dashboard: burst verified + counted in the page',
      f.page,
      `first publish → the page's verified count covers the burst; ${(f.page.median / f.published.median).toFixed(2)}× the publish rate`,
    ),
    msRow(
      'm. dashboard: ack → row on screen',
      f.ackToRow,
      f.ackToRow.iterations,
      1,
      'one event every 25 ms; Events page; MutationObserver stamp',
    ),
  ];
}

interface Dashboard {
  app: TestAppliance;
  page: Page;
  stop(): Promise<void>;
}

/** A test appliance with its websocket listener, the UI service, and a logged-in Chromium page. */
async function startDashboard(): Promise<Dashboard> {
  const app = await startTestAppliance({ websocket: {}, asyncTraces: false });
  const dir = await mkdtemp(join(tmpdir(), 'secai-bench-dashboard-'));
  let ui: RunningUi | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const stop = async () => {
    await browser?.close();
    await ui?.stop();
    await app.cleanup();
    await rm(dir, { recursive: true, force: true });
  };
  try {
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
        startedAt: new Date().toISOString(),
        stateDir,
      }),
    );
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          done();
        },
      }),
    );
    ui = await startUi(await app.client('ui', { liveTrust: true }), {
      stateDir,
      rootKeyid: app.pki.trust.rootKeyid,
      webDist: DEFAULT_WEB_DIST,
      log,
    });
    await ui.http.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(ui.http.server.address() as { port: number }).port}`;
    const code = lines
      .map((l) => (JSON.parse(l) as { msg?: string }).msg ?? '')
      .find((m) => m.startsWith('UI setup code: '))
      ?.slice('UI setup code: '.length);
    if (!code) throw new Error('the UI logged no setup code');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.getByTestId('setup-code').fill(code);
    await page.getByTestId('setup-operator').fill('carol');
    await page.getByTestId('setup-passphrase').fill(PASSPHRASE);
    await page.getByTestId('setup-passphrase-repeat').fill(PASSPHRASE);
    await page.getByTestId('setup-submit').click();
    await page.getByTestId('login-passphrase').fill(PASSPHRASE);
    await page.getByTestId('login-submit').click();
    await page.locator('[data-testid="bus-status"][data-phase="live"]').waitFor();
    await page.getByTestId('nav-events').click();
    await page.getByTestId('events-table').waitFor();
    return { app, page, stop };
  } catch (err) {
    // What the page showed when it went wrong, for the person reading the bench's output.
    const shot = join(tmpdir(), 'secai-bench-dashboard-failure.png');
    await page?.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
    process.stderr.write(`dashboard bench: set-up failed; the page is in ${shot}\n`);
    await stop();
    throw err;
  }
}

// In-page scripts are strings: they run in Chromium (DOM), and this program has no DOM types.
/** The page's own count of verified events, from its status line. */
const COUNT_IN_PAGE = `Number.parseInt(document.querySelector('[data-testid="verified-count"]')?.textContent ?? '0', 10)`;
/** Stamps, per stream sequence, when the Events page added that event's row. */
const OBSERVE_ROWS = `(() => {
  const seen = {};
  window.__benchRows = seen;
  new MutationObserver((records) => {
    const at = performance.timeOrigin + performance.now();
    for (const r of records)
      for (const node of r.addedNodes)
        if (node instanceof HTMLElement && node.dataset.testid === 'event-row') {
          const seq = node.dataset.seq;
          if (seq !== undefined && seen[seq] === undefined) seen[seq] = at;
        }
  }).observe(document.querySelector('[data-testid="events-table"]'), { childList: true, subtree: true });
})()`;

/**
 * Predicates for `waitForFunction` are functions, not strings: the page's CSP (no 'unsafe-eval')
 * refuses a string predicate. They run in the page, so they reach the DOM through `globalThis`.
 */
interface PageGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null };
  __benchRows?: Record<string, number>;
}
const countReaches = (target: number): boolean => {
  const { document } = globalThis as unknown as PageGlobals;
  const text = document.querySelector('[data-testid="verified-count"]')?.textContent;
  return Number.parseInt(text ?? '0', 10) >= target;
};
const rowSeen = (seq: string): boolean =>
  (globalThis as unknown as PageGlobals).__benchRows?.[seq] !== undefined;

async function verifiedCount(page: Page): Promise<number> {
  return page.evaluate<number>(COUNT_IN_PAGE);
}

/** Publishes events one at a time and pairs each acknowledgement with its row's arrival. */
async function measureAckToRow({ app, page }: Dashboard, count: number): Promise<Latency> {
  await page.evaluate(OBSERVE_ROWS);
  const signer = app.pki.signerFor('policy-engine');
  const acked = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const now = new Date();
    const { event, bytes } = signEvent(policyDecision(1_000_000 + i, now), signer, { now });
    const h = headers();
    h.set(TYPE_HEADER, event.type);
    const [type, id] = event.subject.split('/') as [string, string];
    const subject = eventSubject(type, id);
    const ack = await app.admin.js.publish(subject, bytes, { msgID: event.id, headers: h });
    acked.set(ack.seq, performance.timeOrigin + performance.now());
    await new Promise((r) => setTimeout(r, 25));
  }
  const last = Math.max(...acked.keys());
  await page.waitForFunction(rowSeen, String(last), { timeout: 60_000 });
  const rows = await page.evaluate<Record<string, number>>('window.__benchRows');
  const samples: number[] = [];
  for (const [seq, at] of acked) {
    const shown = rows[String(seq)];
    if (shown !== undefined) samples.push((shown - at) * 1e6); // ms → ns
  }
  if (samples.length < count * 0.95) {
    throw new Error(`only ${samples.length} of ${count} rows were seen`);
  }
  // Negative values would mean the row appeared before the publisher read its ack (the page
  // can see the message before the ack reaches this process): they are kept, not hidden.
  return latency(Float64Array.from(samples));
}

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readRuntimeInfo } from '@secai/streams';
import { chromium, type Browser, type Page } from 'playwright-core';

// Helpers of the browser tests against a booted appliance (browser*.e2e.spec.ts): Chromium
// launched for this closed machine, waiting for conditions (never for a time), the UI's address
// and setup code from the state dir, a tampered file, a forged signature, and a record of what the
// Quarantine page showed as a run went by.

// The built CLI, run as a person would (the same few lines as services/cli/test/harness.ts, which
// package boundaries keep this package from importing).
const BIN = resolve(import.meta.dirname, '../../cli/bin/secai.js');
const PORT_OFFSET = 20_000 + Math.floor(Math.random() * 5000);

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function secai(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

export interface Booted {
  child: ChildProcess;
  exit: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * `secai boot` in its own state dir, on a random port offset (the UI on 8480 + offset) and a free
 * NATS port, in its own process group; resolves once boot says every service runs.
 */
export async function startBoot(stateDir: string): Promise<Booted> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'boot',
      '--state-dir',
      stateDir,
      '--nats-port',
      '0',
      '--port-offset',
      String(PORT_OFFSET),
      '--json',
    ],
    {
      env: { ...process.env, SECAI_SEAL_EVERY_MS: '300', SECAI_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exit;
  };
  try {
    await waitUntil(
      'boot to report running',
      () => {
        if (child.exitCode !== null) throw new Error(`boot exited: ${stderr}`);
        return Promise.resolve(stdout.includes('"state":"running"'));
      },
      90_000,
      () => stderr,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, exit, stop };
}

export const CHROMIUM = process.env.SECAI_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Without the background-networking flags Chromium tries its own connections (updates, sync,
 * QUIC probes), which this machine's closed network refuses; the profile is a fresh temporary one
 * (`chromium.launch` makes it).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Where the screenshots go: `$SECAI_SCREENSHOTS/appliance`, by default under the temp dir. */
export async function screenshotDir(): Promise<string> {
  const root = process.env.SECAI_SCREENSHOTS ?? join(tmpdir(), 'secai-ui-screenshots');
  const dir = join(root, 'appliance');
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Polls `probe` until it gives something truthy; throws naming `what` (and the last thing seen)
 * once `timeoutMs` has passed. The timeout is an overall bound, never the thing tested.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
  describeLast?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${describeLast ? `: ${describeLast()}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The UI's address as boot recorded it (8480 + offset), once its /health answers. */
export async function uiBaseUrl(stateDir: string): Promise<string> {
  const port = await waitUntil('the UI port in runtime.json', async () => {
    return (await readRuntimeInfo(stateDir))?.httpPorts?.ui;
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(`${base}/health`, async () => {
    const res = await fetch(`${base}/health`).catch(() => null);
    return res?.ok ?? false;
  });
  return base;
}

/** The one-time code the UI wrote at first boot (`<state>/ui/setup-code`). */
export async function readSetupCode(stateDir: string): Promise<string> {
  const path = join(stateDir, 'ui', 'setup-code');
  return (
    await waitUntil(`${path}`, () => readFile(path, 'utf8').catch(() => null), 30_000)
  ).trim();
}

/** What the model e2e does to a stored model: make it writable and flip its last byte. */
export async function tamperLastByte(file: string): Promise<void> {
  await chmod(file, 0o644);
  const bytes = await readFile(file);
  bytes[bytes.length - 1]! ^= 0xff;
  await writeFile(file, bytes);
}

/** A DSSE envelope (parsed) with one bit of its first signature flipped. */
export function withFlippedSignature<E extends { signatures: { sig: string }[] }>(envelope: E): E {
  const [first, ...rest] = envelope.signatures;
  const sig = Buffer.from(first!.sig, 'base64');
  sig[10]! ^= 0x01;
  return { ...envelope, signatures: [{ ...first!, sig: sig.toString('base64') }, ...rest] };
}

/** The same envelope bytes with one bit of the signature flipped. */
export function flipSignatureBit(bytes: Uint8Array): Uint8Array {
  const envelope = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
    signatures: { sig: string }[];
  };
  return Buffer.from(JSON.stringify(withFlippedSignature(envelope)), 'utf8');
}

/** One moment of the Quarantine page: each run card's status and its stage rows in order. */
export interface StageSnapshot {
  artifact: string;
  status: string;
  stages: { stage: string; status: string }[];
}

/**
 * Records, in the page, every change of the run cards and their stage rows (a MutationObserver,
 * evaluated through the DevTools protocol, which the page's CSP does not govern; written as text
 * because this program has no DOM types). Reading the record afterwards shows whether stages
 * appeared one after another or all at once.
 */
export async function recordStageRows(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    const log = [];
    window.__stageLog = log;
    let last = '';
    const snap = () => {
      const cards = [...document.querySelectorAll('[data-testid="run-card"]')].map((card) => ({
        artifact: card.dataset.artifact ?? '',
        status: card.dataset.status ?? '',
        stages: [...card.querySelectorAll('[data-testid="stage-row"]')].map((row) => ({
          stage: row.dataset.stage ?? '',
          status: row.dataset.status ?? '',
        })),
      }));
      const text = JSON.stringify(cards);
      if (text !== last) {
        last = text;
        log.push(cards);
      }
    };
    snap();
    new MutationObserver(snap).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-status', 'data-stage', 'data-artifact'],
    });
  })()`);
}

export async function stageLog(page: Page): Promise<StageSnapshot[][]> {
  return page.evaluate<StageSnapshot[][]>('window.__stageLog ?? []');
}

export interface ElementSeen {
  attrs: Record<string, string | null>;
  text: string;
}

/** Every element of the page matching `selector`, with the attributes named and its text. */
export function readElements(
  page: Page,
  selector: string,
  attributes: readonly string[],
): Promise<ElementSeen[]> {
  return page.evaluate<ElementSeen[]>(
    `[...document.querySelectorAll(${JSON.stringify(selector)})].map((el) => ({
      attrs: Object.fromEntries(${JSON.stringify(attributes)}.map((a) => [a, el.getAttribute(a)])),
      text: el.textContent ?? '',
    }))`,
  );
}

import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { EventData } from '@secai/contracts';
import { startRecorder, stateOf, type RunningRecorder } from '@secai/incident-recorder';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  groupCommitRecorder,
  serveCommands as serveEngineCommands,
} from '@secai/policy-engine';
import { verifyBundle } from '@secai/projections';
import { PolicyClient, type Subscription } from '@secai/streams';
import {
  fakeContainmentTarget,
  startTestAppliance,
  waitFor,
  type FakeTarget,
  type TestAppliance,
  recordFreshAttestation,
} from '@secai/streams/testing';
import { DEFAULT_THROTTLE_RULES, startUi, type RunningUi } from '../src/index.js';

// The UI service over a real nats-server with the appliance's real identities (issue 14 §4,
// HTTP): first boot, login, sessions on a clock the test moves, CSRF, the lockout, headers, the
// bus credentials, operator actions answered by the real incident recorder, the export, and an
// attacker's angles (another origin, another Host, forged tokens, a flood from many addresses).
// Requests go over real sockets; the client address is chosen by binding to 127.0.0.x.

const OPERATOR = 'alice';
const PASSPHRASE = 'correct horse battery staple';
const WS_URL = 'ws://127.0.0.1:4223';
const S = 1000;

let app: TestAppliance;
let dir: string;
let stateDir: string;
let dist: string;
let ui: RunningUi;
let recorder: RunningRecorder;
let vault: FakeTarget;
let engineSubs: Subscription[] = [];
let port: number;
const clock = { now: Date.parse('2026-12-01T10:00:00Z') };
const logLines: string[] = [];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
  bytes: Buffer;
}

interface Call {
  body?: unknown;
  rawBody?: string;
  cookie?: string;
  csrf?: string;
  headers?: Record<string, string>;
  /** The client address (127.0.0.x): each test group uses its own, the throttle keys on it. */
  from?: string;
}

/** One request over a real socket from `from`. */
function call(method: string, path: string, c: Call = {}): Promise<Answer> {
  const body = c.rawBody ?? (c.body !== undefined ? JSON.stringify(c.body) : undefined);
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...c.headers };
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  if (c.cookie) headers.cookie = c.cookie;
  if (c.csrf) headers['x-csrf-token'] = c.csrf;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers, localAddress: c.from ?? '127.0.0.1' },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const text = bytes.toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON (the page, an asset, a bundle)
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, bytes });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function expectProblem(a: Answer, status: number, code: string): void {
  expect({ status: a.status, code: a.json.code }, a.text.slice(0, 300)).toEqual({ status, code });
  expect(a.json).toMatchObject({ type: `urn:secai:problem:${code}`, status, title: code });
  expect(String(a.headers['content-type'])).toContain('application/problem+json');
}

/** The session cookie a response set, as a Cookie header value. */
function sessionCookie(a: Answer): string {
  const set = ([] as string[]).concat(a.headers['set-cookie'] ?? []);
  const line = set.find((l) => l.startsWith('secai_session='));
  if (!line) throw new Error(`no session cookie in ${JSON.stringify(set)}`);
  return line.split(';')[0]!;
}

interface LoggedIn {
  cookie: string;
  csrf: string;
}

async function login(from = '127.0.0.1', passphrase = PASSPHRASE): Promise<LoggedIn> {
  const res = await call('POST', '/api/auth/login', { body: { passphrase }, from });
  expect(res.status, res.text).toBe(200);
  return { cookie: sessionCookie(res), csrf: res.json.csrfToken as string };
}

const as = (s: LoggedIn, c: Call = {}): Call => ({ ...c, cookie: s.cookie, csrf: s.csrf });

function setupCodeFromLog(): string {
  const line = logLines.find((l) => l.includes('UI setup code: '));
  if (!line) throw new Error('no setup code was logged');
  return (JSON.parse(line) as { msg: string }).msg.slice('UI setup code: '.length);
}

async function writeRuntime(extra: Record<string, unknown>): Promise<void> {
  await writeFile(
    join(stateDir, 'run', 'runtime.json'),
    JSON.stringify({ pid: process.pid, natsUrl: app.nats.url, startedAt: '', stateDir, ...extra }),
  );
}

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-ui-int-'));
  stateDir = join(dir, 'state');
  // The state dir as boot leaves it: the dashboard identity's seed and runtime.json.
  await mkdir(join(stateDir, 'nats', 'users'), { recursive: true, mode: 0o700 });
  await mkdir(join(stateDir, 'run'), { recursive: true });
  await copyFile(
    join(app.nats.dir, 'nats', 'users', 'dashboard.nk'),
    join(stateDir, 'nats', 'users', 'dashboard.nk'),
  );
  await writeRuntime({ natsWebsocketUrl: WS_URL });
  // A built front end, and a file beside it no asset path may reach.
  dist = join(dir, 'web', 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(
    join(dist, 'index.html'),
    '<!doctype html><html><head><link rel="stylesheet" href="/assets/app.css">' +
      '<script type="module" src="/assets/app.js"></script></head><body><div id="app"></div></body></html>',
  );
  await writeFile(join(dist, 'assets', 'app.js'), 'console.log("app");\n');
  await writeFile(join(dist, 'assets', 'app.css'), 'body{}\n');
  await writeFile(join(dir, 'web', 'secret.txt'), 'SECRET-outside-assets\n');

  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
  );
  recorder = await startRecorder(await app.client('incident-recorder'), {
    policyDir: join(dir, 'policy'),
    seal: { everyEvents: 100, everyMs: 300 },
    log: pino({ level: 'silent' }),
  });
  const recorderUrl = await recorder.http.listen({ host: '127.0.0.1', port: 0 });
  vault = fakeContainmentTarget(await app.client('appliance'), 'appliance.relock_vault', app.pki);
  // The real policy engine with the shipped policy, for the what-if.
  const engineSide = await app.client('policy-engine');
  const engine = new PolicyEngine();
  const host = new PolicyHost(
    engine,
    engineSide.store,
    DEFAULT_POLICY_DIR,
    pino({ level: 'silent' }),
  );
  if (!(await host.reload('startup')).ok) throw new Error('the shipped policy was refused');
  engineSubs = serveEngineCommands(engineSide.nc, {
    engine,
    host,
    recorder: groupCommitRecorder(engineSide.js, engineSide.store.signer),
    signer: engineSide.store.signer,
    trust: engineSide.store.trust,
    log: pino({ level: 'silent' }),
  });
  ui = await startUi(await app.client('ui', { liveTrust: true }), {
    stateDir,
    rootKeyid: app.pki.trust.rootKeyid,
    webDist: dist,
    log,
    recorderUrl,
    // Cheap scrypt (the record names its parameters) and a low global ceiling, so the flood is
    // small; everything else as shipped.
    scrypt: { N: 2 ** 14, r: 8, p: 1, keyLength: 64 },
    throttle: {
      ...DEFAULT_THROTTLE_RULES,
      global: { failures: 30, windowSeconds: 60, lockSeconds: 300 },
    },
    now: () => clock.now,
    actionTimeoutMs: 15_000,
  });
  await ui.http.listen({ host: '127.0.0.1', port: 0 });
  port = (ui.http.server.address() as { port: number }).port;
});

afterAll(async () => {
  await ui?.stop();
  for (const sub of engineSubs) sub.unsubscribe();
  vault?.stop();
  await recorder?.stop();
  await app?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('first boot', () => {
  it('writes a one-time setup code 0600 and logs it once; nothing is configured yet', async () => {
    const path = join(stateDir, 'ui', 'setup-code');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const code = setupCodeFromLog();
    expect((await readFile(path, 'utf8')).trim()).toBe(code);
    // ≥ 128 bits: 32 base32 characters.
    expect(code.replace(/-/g, '')).toMatch(/^[A-Z2-9]{32}$/);
    expect(logLines.filter((l) => l.includes(code))).toHaveLength(1);
    const status = await call('GET', '/api/auth/status');
    expect(status.json).toEqual({ configured: false, authenticated: false });
    expectProblem(
      await call('POST', '/api/auth/login', { body: { passphrase: PASSPHRASE } }),
      409,
      'NOT_CONFIGURED',
    );
  });

  it('refuses a wrong setup code (403) and a weak passphrase (400) without consuming the code', async () => {
    const code = setupCodeFromLog();
    expectProblem(
      await call('POST', '/api/auth/setup', {
        body: {
          setupCode: 'AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH',
          operator: OPERATOR,
          passphrase: PASSPHRASE,
        },
        from: '127.0.0.2',
      }),
      403,
      'SETUP_CODE_INVALID',
    );
    expectProblem(
      await call('POST', '/api/auth/setup', {
        body: { setupCode: code, operator: OPERATOR, passphrase: 'too short' },
        from: '127.0.0.2',
      }),
      400,
      'PASSPHRASE_POLICY',
    );
    expectProblem(
      await call('POST', '/api/auth/setup', {
        body: { setupCode: code, operator: OPERATOR, passphrase: PASSPHRASE, extra: 1 },
        from: '127.0.0.2',
      }),
      400,
      'REQUEST_INVALID',
    );
    expect(ui.auth.configured).toBe(false);
  });

  it('sets the operator and passphrase with the code, consumes it, and does not log in', async () => {
    const code = setupCodeFromLog();
    const res = await call('POST', '/api/auth/setup', {
      body: { setupCode: code.toLowerCase(), operator: OPERATOR, passphrase: PASSPHRASE },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ configured: true, operator: OPERATOR });
    expect(res.headers['set-cookie']).toBeUndefined();
    const authPath = join(stateDir, 'ui', 'auth.json');
    expect((await stat(authPath)).mode & 0o777).toBe(0o600);
    const text = await readFile(authPath, 'utf8');
    expect(text).not.toContain(PASSPHRASE);
    expect(JSON.parse(text)).toMatchObject({
      operator: OPERATOR,
      passphrase: {
        algorithm: 'scrypt',
        params: { N: 16384, r: 8, p: 1, keyLength: 64 },
        salt: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
        hash: expect.stringMatching(/^[0-9a-f]{128}$/) as string,
      },
    });
    await expect(stat(join(stateDir, 'ui', 'setup-code'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect((await call('GET', '/api/auth/status')).json).toEqual({
      configured: true,
      authenticated: false,
    });
    // Twice: refused, and the passphrase stays the first one.
    expectProblem(
      await call('POST', '/api/auth/setup', {
        body: { setupCode: code, operator: 'mallory', passphrase: 'another long passphrase' },
      }),
      409,
      'ALREADY_CONFIGURED',
    );
    expect(logLines.join('\n')).not.toContain(PASSPHRASE);
  });
});

describe('login and sessions', () => {
  it('a wrong passphrase is 401; the right one sets an HttpOnly SameSite=Strict cookie and gives the CSRF token', async () => {
    expectProblem(
      await call('POST', '/api/auth/login', { body: { passphrase: 'not the passphrase at all' } }),
      401,
      'PASSPHRASE_INCORRECT',
    );
    const res = await call('POST', '/api/auth/login', { body: { passphrase: PASSPHRASE } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ operator: OPERATOR, csrfToken: expect.any(String) as string });
    const cookie = ([] as string[])
      .concat(res.headers['set-cookie'] ?? [])
      .find((l) => l.startsWith('secai_session='))!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Strict/i);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/; Secure/i); // plain HTTP on loopback
    // The cookie value is not the CSRF token and appears in no log line.
    const value = sessionCookie(res).split('=')[1]!;
    expect(value).not.toBe(res.json.csrfToken);
    expect(logLines.join('\n')).not.toContain(value);
    const status = await call('GET', '/api/auth/status', { cookie: sessionCookie(res) });
    expect(status.json).toMatchObject({
      configured: true,
      authenticated: true,
      operator: OPERATOR,
      csrfToken: res.json.csrfToken,
      session: { idleTimeout: 1800, absoluteTimeout: 43200 },
    });
  });

  const sessionRoutes: [string, string, unknown?][] = [
    ['GET', '/api/bus'],
    ['POST', '/api/models/import', { path: '/tmp/model.gguf' }],
    ['POST', `/api/models/${'a'.repeat(64)}/contain`, { reason: 'suspicious' }],
    ['POST', `/api/models/${'a'.repeat(64)}/remove`, { reason: 'unused' }],
    ['POST', '/api/incidents/INC-1/acknowledge', { note: '' }],
    ['POST', '/api/incidents/INC-1/resolve', { note: '' }],
    ['GET', '/api/incidents/INC-1/export'],
    ['POST', '/api/policy/what-if', { policy: { 'policy.yaml': 'x' } }],
    ['POST', '/api/auth/logout', {}],
    ['POST', '/api/auth/change', { current: PASSPHRASE, next: 'a brand new passphrase' }],
  ];

  it.each(sessionRoutes)(
    '%s %s without a session, or with a forged one, is 401 SESSION_REQUIRED',
    async (method, path, body) => {
      expectProblem(await call(method, path, { body }), 401, 'SESSION_REQUIRED');
      const forged = `secai_session=${randomBytes(32).toString('base64url')}`;
      expectProblem(
        await call(method, path, { body, cookie: forged, csrf: 'x' }),
        401,
        'SESSION_REQUIRED',
      );
    },
  );

  it.each(sessionRoutes.filter(([m]) => m === 'POST'))(
    '%s %s with a session but a missing, wrong or another session’s CSRF token is 403 CSRF_INVALID',
    async (method, path, body) => {
      const mine = await login();
      const other = await login();
      expectProblem(await call(method, path, { body, cookie: mine.cookie }), 403, 'CSRF_INVALID');
      expectProblem(
        await call(method, path, { body, cookie: mine.cookie, csrf: 'guess' }),
        403,
        'CSRF_INVALID',
      );
      expectProblem(
        await call(method, path, { body, cookie: mine.cookie, csrf: other.csrf }),
        403,
        'CSRF_INVALID',
      );
    },
  );

  it('reads do not keep a session alive: idle 30 min after the last state change it is 401 SESSION_EXPIRED', async () => {
    const passive = await login();
    const active = await login();
    clock.now += 20 * 60 * S;
    expect((await call('GET', '/api/bus', { cookie: passive.cookie })).status).toBe(200);
    expect(
      (await call('GET', '/api/auth/status', { cookie: passive.cookie })).json.authenticated,
    ).toBe(true);
    // A state change (refused by the handler or not) with its CSRF token refreshes the timer.
    await call('POST', '/api/incidents/INC-none/acknowledge', as(active, { body: { note: '' } }));
    clock.now += 11 * 60 * S;
    const expired = await call('GET', '/api/bus', { cookie: passive.cookie });
    expectProblem(expired, 401, 'SESSION_EXPIRED');
    expect(String(expired.headers['set-cookie'])).toMatch(/secai_session=;/);
    expect((await call('GET', '/api/bus', { cookie: active.cookie })).status).toBe(200);
  });

  it('a session ends 12 h after login however active it is', async () => {
    const s = await login();
    // A state change every 29 minutes for 11 h 36 min: never idle, always live.
    for (let i = 0; i < 24; i++) {
      clock.now += 29 * 60 * S;
      const res = await call(
        'POST',
        '/api/incidents/INC-none/acknowledge',
        as(s, { body: { note: '' } }),
      );
      expect(res.status, res.text).not.toBe(401);
    }
    clock.now += 25 * 60 * S;
    expectProblem(await call('GET', '/api/bus', { cookie: s.cookie }), 401, 'SESSION_EXPIRED');
  });

  it('logout ends the session', async () => {
    const s = await login();
    expect((await call('POST', '/api/auth/logout', as(s, { body: {} }))).status).toBe(200);
    expectProblem(await call('GET', '/api/bus', { cookie: s.cookie }), 401, 'SESSION_REQUIRED');
  });

  it('a passphrase change ends every session, then logs the caller in again', async () => {
    const a = await login();
    const b = await login();
    const next = 'a new and longer passphrase';
    expectProblem(
      await call(
        'POST',
        '/api/auth/change',
        as(a, { body: { current: 'wrong passphrase here', next } }),
      ),
      403,
      'CURRENT_PASSPHRASE_INCORRECT',
    );
    const changed = await call(
      'POST',
      '/api/auth/change',
      as(a, { body: { current: PASSPHRASE, next } }),
    );
    expect(changed.status, changed.text).toBe(200);
    const c = { cookie: sessionCookie(changed), csrf: changed.json.csrfToken as string };
    expectProblem(await call('GET', '/api/bus', { cookie: a.cookie }), 401, 'SESSION_REQUIRED');
    expectProblem(await call('GET', '/api/bus', { cookie: b.cookie }), 401, 'SESSION_REQUIRED');
    expect((await call('GET', '/api/bus', { cookie: c.cookie })).status).toBe(200);
    expectProblem(
      await call('POST', '/api/auth/login', { body: { passphrase: PASSPHRASE } }),
      401,
      'PASSPHRASE_INCORRECT',
    );
    // Back to the first passphrase for the other tests.
    const back = await call(
      'POST',
      '/api/auth/change',
      as(c, { body: { current: next, next: PASSPHRASE } }),
    );
    expect(back.status, back.text).toBe(200);
  });
});

describe('the lockout', () => {
  it('5 wrong passphrases lock the address for 60 s (429, Retry-After); the right one waits too', async () => {
    const from = '127.0.0.5';
    for (let i = 0; i < 5; i++)
      expectProblem(
        await call('POST', '/api/auth/login', {
          body: { passphrase: `wrong passphrase ${i}` },
          from,
        }),
        401,
        'PASSPHRASE_INCORRECT',
      );
    const locked = await call('POST', '/api/auth/login', {
      body: { passphrase: PASSPHRASE },
      from,
    });
    expectProblem(locked, 429, 'LOCKED_OUT');
    expect(Number(locked.headers['retry-after'])).toBe(60);
    // Another address is not locked.
    expect(
      (
        await call('POST', '/api/auth/login', {
          body: { passphrase: PASSPHRASE },
          from: '127.0.0.6',
        })
      ).status,
    ).toBe(200);
    clock.now += 59 * S;
    expectProblem(
      await call('POST', '/api/auth/login', { body: { passphrase: PASSPHRASE }, from }),
      429,
      'LOCKED_OUT',
    );
    clock.now += 1 * S;
    expect(
      (await call('POST', '/api/auth/login', { body: { passphrase: PASSPHRASE }, from })).status,
    ).toBe(200);
  });
});

describe('headers and the page', () => {
  it('every response has a CSP with a fresh nonce, no unsafe-inline, never framed; the page carries the nonce', async () => {
    const first = await call('GET', '/');
    const second = await call('GET', '/events');
    const nonceOf = (a: Answer) =>
      /'nonce-([A-Za-z0-9_-]+)'/.exec(String(a.headers['content-security-policy']))?.[1];
    expect(nonceOf(first)).toBeDefined();
    expect(nonceOf(first)).not.toBe(nonceOf(second));
    for (const a of [
      first,
      second,
      await call('GET', '/api/bus'),
      await call('GET', '/nope.php'),
    ]) {
      const csp = String(a.headers['content-security-policy']);
      expect(/script-src ([^;]*)/.exec(csp)?.[1]).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain(`connect-src 'self' ${WS_URL}`);
      expect(a.headers['x-frame-options']).toBe('DENY');
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(first.headers['cache-control']).toBe('no-store');
    expect(String(first.headers['content-type'])).toContain('text/html');
    const nonce = nonceOf(first)!;
    expect(first.text).toContain(`<script nonce="${nonce}" type="module" src="/assets/app.js">`);
    expect(first.text).toContain(`<link nonce="${nonce}" rel="stylesheet"`);
  });

  it('serves assets with a long cache, and nothing outside them', async () => {
    const js = await call('GET', '/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.text).toContain('console.log');
    expect(String(js.headers['content-type'])).toContain('javascript');
    expect(js.headers['cache-control']).toContain('immutable');
    for (const path of [
      '/assets/',
      '/assets/..%2fsecret.txt',
      '/assets/..%2f..%2fweb%2fsecret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/../secret.txt',
      '/assets/app.js%00.css',
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.text).not.toContain('SECRET');
    }
  });
});

describe('the bus credentials', () => {
  it('refuses without a session and gives the dashboard seed, the websocket and the pinned root with one', async () => {
    expectProblem(await call('GET', '/api/bus'), 401, 'SESSION_REQUIRED');
    const s = await login();
    const res = await call('GET', '/api/bus', { cookie: s.cookie });
    expect(res.status, res.text).toBe(200);
    const seed = (
      await readFile(join(app.nats.dir, 'nats', 'users', 'dashboard.nk'), 'utf8')
    ).trim();
    expect(res.json).toMatchObject({
      websocketUrl: WS_URL,
      user: 'dashboard',
      seed,
      inboxPrefix: '_INBOX_dashboard',
      stream: 'SECAI_EVENTS',
      rootKeyid: app.pki.trust.rootKeyid,
      rootCertificatePem: app.pki.bundle.root,
      trustBundle: { root: app.pki.bundle.root },
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers 503 BUS_UNAVAILABLE while runtime.json names no websocket', async () => {
    const s = await login();
    await writeRuntime({});
    clock.now += 5 * S;
    try {
      expectProblem(await call('GET', '/api/bus', { cookie: s.cookie }), 503, 'BUS_UNAVAILABLE');
    } finally {
      await writeRuntime({ natsWebsocketUrl: WS_URL });
      clock.now += 5 * S;
    }
  });
});

describe('operator actions', () => {
  async function openIncident(): Promise<string> {
    const monitor = await app.client('integrity-monitor');
    const { ids } = await monitor.store.append(
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
    let id = '';
    await waitFor(
      () => {
        const found = recorder.book
          .all()
          .find(([, r]) => r.snapshot.context.causeEventIds.includes(ids[0]!));
        id = found?.[0] ?? '';
        return found !== undefined && stateOf(found[1].snapshot) !== 'open';
      },
      20_000,
      'the incident to leave open',
    );
    return id;
  }

  async function attested(): Promise<void> {
    await recordFreshAttestation(app);
  }

  it('resolve and acknowledge are commands signed as ui; the recorder answers and its events name the operator', async () => {
    const id = await openIncident();
    const s = await login();
    // Refused by the handler itself (the ceremony is not done): the ui identity was accepted.
    const early = await call(
      'POST',
      `/api/incidents/${id}/acknowledge`,
      as(s, { body: { note: 'seen' } }),
    );
    expectProblem(early, 409, 'COMMAND_REFUSED');
    expect(early.json.detail).toContain('not_resolved');
    await attested();
    const resolved = await call(
      'POST',
      `/api/incidents/${id}/resolve`,
      as(s, { body: { note: 'fixed the binary' } }),
    );
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.json).toEqual({ incidentId: id, state: 'resolved' });
    const acked = await call(
      'POST',
      `/api/incidents/${id}/acknowledge`,
      as(s, { body: { note: 'ok' } }),
    );
    expect(acked.json).toEqual({ incidentId: id, state: 'acknowledged' });
    const events = (await app.admin.store.load('incident', id)).events.map((e) => e.event);
    const resolvedEvent = events.find((e) => e.type === 'incident.resolved')!;
    expect(resolvedEvent.data as EventData<'incident.resolved'>).toMatchObject({
      operator: OPERATOR,
      note: 'fixed the binary',
    });
    expect(events.find((e) => e.type === 'incident.acknowledged')!.data).toMatchObject({
      operator: OPERATOR,
      note: 'ok',
    });

    // The export: the recorder's sealed bundle, downloaded, verifies against the root.
    const exported = await call('GET', `/api/incidents/${id}/export`, { cookie: s.cookie });
    expect(exported.status, exported.text.slice(0, 300)).toBe(200);
    expect(exported.headers['content-disposition']).toBe(
      `attachment; filename="incident-${id}.bundle.jsonl"`,
    );
    const file = join(dir, `${id}.jsonl`);
    await writeFile(file, exported.bytes);
    const report = await verifyBundle(file, { expectedRootKeyid: app.pki.trust.rootKeyid });
    expect(report.failures).toEqual([]);
    expectProblem(
      await call('GET', '/api/incidents/INC-unknown/export', { cookie: s.cookie }),
      404,
      'INCIDENT_UNKNOWN',
    );
  });

  it('validates inputs (400 REQUEST_INVALID) and says when the service behind an action is not running (503)', async () => {
    const s = await login();
    for (const [path, body] of [
      ['/api/models/import', { path: 'relative/model.gguf' }],
      ['/api/models/import', { path: '/x', unknown: 1 }],
      ['/api/models/NOTHEX/contain', { reason: 'r' }],
      [`/api/models/${'a'.repeat(64)}/remove`, { reason: '' }],
      ['/api/incidents/bad.id/resolve', { note: '' }],
    ] as const)
      expectProblem(await call('POST', path, as(s, { body })), 400, 'REQUEST_INVALID');
    // No quarantine and no registry run in this test: nothing answers their commands.
    const imported = await call(
      'POST',
      '/api/models/import',
      as(s, { body: { path: '/tmp/model.gguf' } }),
    );
    expectProblem(imported, 503, 'SERVICE_ABSENT');
    expectProblem(
      await call(
        'POST',
        `/api/models/${'a'.repeat(64)}/contain`,
        as(s, { body: { reason: 'suspicious' } }),
      ),
      503,
      'SERVICE_ABSENT',
    );
    // Bodies: 4 KiB on auth routes, 64 KiB elsewhere.
    expectProblem(
      await call('POST', '/api/auth/login', {
        rawBody: JSON.stringify({ passphrase: 'x'.repeat(5000) }),
      }),
      413,
      'REQUEST_TOO_LARGE',
    );
    expectProblem(
      await call(
        'POST',
        '/api/incidents/INC-1/resolve',
        as(s, { rawBody: JSON.stringify({ note: 'x'.repeat(70_000) }) }),
      ),
      413,
      'REQUEST_TOO_LARGE',
    );
  });
});

describe('policy what-if', () => {
  const file = (name: 'policy.yaml' | 'agent.yaml') =>
    readFile(join(DEFAULT_POLICY_DIR, name), 'utf8');

  it('tries a candidate policy on recorded decisions read from the stream, beside what was recorded', async () => {
    const gate = await app.client('tool-firewall');
    const client = new PolicyClient(gate.nc, app.pki.signerFor('tool-firewall'), app.pki.trust);
    const allowed = await client.decide({
      domain: 'tool_access',
      subject: 'filesystem.read',
      params: { path: '/vault/user_docs/b.txt' },
    });
    const decisionId = allowed.decisionId!;
    const policy = await file('policy.yaml');
    const agent = await file('agent.yaml');
    const s = await login();
    const same = await call(
      'POST',
      '/api/policy/what-if',
      as(s, {
        body: { policy: { 'policy.yaml': policy, 'agent.yaml': agent }, decisionIds: [decisionId] },
      }),
    );
    expect(same.status, same.text).toBe(200);
    expect(same.json.results).toEqual([
      {
        decisionId,
        recorded: { decision: 'allow', ruleId: 'tools.allow.filesystem.read' },
        candidate: expect.objectContaining({
          decision: 'allow',
          ruleId: 'tools.allow.filesystem.read',
        }) as object,
        changed: false,
      },
    ]);
    const narrowed = policy.replace(
      'paths_allowlist: [/vault/user_docs/**]\n',
      'paths_allowlist: [/vault/user_docs/public/**]\n',
    );
    expect(narrowed).not.toBe(policy);
    const changed = await call(
      'POST',
      '/api/policy/what-if',
      as(s, { body: { policy: { 'policy.yaml': narrowed, 'agent.yaml': agent } } }),
    );
    expect(changed.status, changed.text).toBe(200);
    // Without ids: the latest decisions, this one among them.
    expect(changed.json.results).toContainEqual(
      expect.objectContaining({
        decisionId,
        candidate: expect.objectContaining({ decision: 'deny' }) as object,
        changed: true,
      }),
    );
    const bad = await call(
      'POST',
      '/api/policy/what-if',
      as(s, {
        body: {
          policy: { 'policy.yaml': 'tools: [', 'agent.yaml': agent },
          decisionIds: [decisionId],
        },
      }),
    );
    expectProblem(bad, 409, 'COMMAND_REFUSED');
    expect(bad.json.detail).toContain('POLICY_INVALID');
    const unknown = '01900000-0000-7000-8000-000000000000';
    expectProblem(
      await call(
        'POST',
        '/api/policy/what-if',
        as(s, { body: { policy: { 'policy.yaml': policy }, decisionIds: [unknown] } }),
      ),
      404,
      'TARGET_UNKNOWN',
    );
    expectProblem(
      await call(
        'POST',
        '/api/policy/what-if',
        as(s, { body: { policy: { 'policy.yaml': policy }, decisionIds: ['nope'] } }),
      ),
      400,
      'REQUEST_INVALID',
    );
  });
});

describe("an attacker's angles", () => {
  it('a state change from another origin is refused, with or without the session cookie', async () => {
    const s = await login();
    expectProblem(
      await call('POST', '/api/auth/login', {
        body: { passphrase: PASSPHRASE },
        headers: { origin: 'http://evil.example' },
      }),
      403,
      'ORIGIN_REFUSED',
    );
    // A cross-site request carrying the cookie (were SameSite ignored) and even a stolen token.
    expectProblem(
      await call(
        'POST',
        '/api/auth/logout',
        as(s, { body: {}, headers: { origin: 'http://evil.example' } }),
      ),
      403,
      'ORIGIN_REFUSED',
    );
    expectProblem(
      await call(
        'POST',
        '/api/auth/logout',
        as(s, { body: {}, headers: { 'sec-fetch-site': 'cross-site' } }),
      ),
      403,
      'ORIGIN_REFUSED',
    );
    expect((await call('GET', '/api/bus', { cookie: s.cookie })).status).toBe(200);
    // The same origin passes.
    const own = await call(
      'POST',
      '/api/auth/logout',
      as(s, { body: {}, headers: { origin: `http://127.0.0.1:${port}` } }),
    );
    expect(own.status).toBe(200);
  });

  it('a DNS-rebinding page (another Host) is refused before anything else', async () => {
    expectProblem(
      await call('GET', '/api/auth/status', { headers: { host: `evil.example:${port}` } }),
      421,
      'HOST_REFUSED',
    );
    expectProblem(
      await call('POST', '/api/auth/login', {
        body: { passphrase: PASSPHRASE },
        headers: { host: 'evil.example' },
      }),
      421,
      'HOST_REFUSED',
    );
    expect(
      (await call('GET', '/api/auth/status', { headers: { host: `localhost:${port}` } })).status,
    ).toBe(200);
  });

  it('a flood of wrong passphrases from many addresses crosses the global ceiling: every login waits, the right one too', async () => {
    clock.now += 3600 * S;
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      const res = await call('POST', '/api/auth/login', {
        body: { passphrase: `guess number ${i} of many` },
        from: `127.0.1.${i + 1}`,
      });
      if (res.status === 401) refused++;
    }
    expect(refused).toBe(30);
    const legit = await call('POST', '/api/auth/login', {
      body: { passphrase: PASSPHRASE },
      from: '127.0.2.1',
    });
    expectProblem(legit, 429, 'LOCKED_OUT');
    expect(Number(legit.headers['retry-after'])).toBe(300);
    clock.now += 300 * S;
    expect(
      (
        await call('POST', '/api/auth/login', {
          body: { passphrase: PASSPHRASE },
          from: '127.0.2.1',
        })
      ).status,
    ).toBe(200);
  });
});

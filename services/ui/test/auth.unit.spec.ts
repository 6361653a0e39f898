import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  Auth,
  AuthStore,
  Kdf,
  LoginThrottle,
  SessionTable,
  newSetupCode,
  paramsAcceptable,
  type AuthRecord,
} from '../src/index.js';

// The auth rules over a temp state dir, with cheap scrypt and a clock the test owns.

const CHEAP = { N: 2 ** 14, r: 8, p: 1, keyLength: 64 };
const log = pino({ level: 'silent' });
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-ui-auth-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function makeAuth(clock = { now: 0 }) {
  const sessions = new SessionTable();
  return {
    clock,
    sessions,
    auth: new Auth({
      store: new AuthStore(dir),
      kdf: new Kdf(CHEAP),
      sessions,
      throttle: new LoginThrottle(),
      now: () => clock.now,
      log,
    }),
  };
}

describe('Kdf', () => {
  it('given a hash, then only the same passphrase verifies, and the record names its parameters', async () => {
    const kdf = new Kdf(CHEAP);
    const stored = await kdf.hash('correct horse battery');
    expect(stored.params).toEqual(CHEAP);
    expect(await kdf.verify('correct horse battery', stored)).toBe(true);
    expect(await kdf.verify('correct horse batterY', stored)).toBe(false);
    expect((await kdf.hash('correct horse battery')).salt).not.toBe(stored.salt);
  });

  it('given a record with parameters out of bounds or a malformed hash, then it is refused without running', async () => {
    const kdf = new Kdf(CHEAP);
    const stored = await kdf.hash('correct horse battery');
    expect(
      await kdf.verify('correct horse battery', { ...stored, params: { ...CHEAP, N: 2 ** 30 } }),
    ).toBe(false);
    expect(await kdf.verify('correct horse battery', { ...stored, hash: 'zz' })).toBe(false);
    expect(paramsAcceptable({ ...CHEAP, N: 3 * 2 ** 14 })).toBe(false);
    expect(paramsAcceptable({ ...CHEAP, r: 1 })).toBe(false);
  });

  it('given more checks than it runs and queues, then the rest are refused AUTH_BUSY', async () => {
    const kdf = new Kdf(CHEAP, { concurrency: 1, queue: 1 });
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map(() => kdf.hash('correct horse battery')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(
      results
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r) => (r.reason as { code: string }).code),
    ).toEqual(['AUTH_BUSY', 'AUTH_BUSY']);
  });
});

describe('AuthStore', () => {
  const record: AuthRecord = {
    version: 1,
    operator: 'alice',
    passphrase: { algorithm: 'scrypt', params: CHEAP, salt: '0'.repeat(64), hash: '1'.repeat(128) },
    createdAt: '2026-12-01T00:00:00.000Z',
  };

  it('given two setups racing, then exactly one creates the record (0600)', async () => {
    const store = new AuthStore(dir);
    await store.ensureDir();
    const won = await Promise.all([
      store.create(record),
      store.create({ ...record, operator: 'mallory' }),
    ]);
    expect(won.filter(Boolean)).toHaveLength(1);
    expect((await stat(store.authPath)).mode & 0o777).toBe(0o600);
    expect((await store.read())?.operator).toBe(won[0] ? 'alice' : 'mallory');
  });

  it('given a record readable by others, or a link in its place, then reading refuses', async () => {
    const store = new AuthStore(dir);
    await store.ensureDir();
    await store.create(record);
    await chmod(store.authPath, 0o644);
    await expect(store.read()).rejects.toThrow(/group or others/);
    await rm(store.authPath);
    const elsewhere = join(dir, 'elsewhere.json');
    await writeFile(elsewhere, JSON.stringify(record), { mode: 0o600 });
    await symlink(elsewhere, store.authPath);
    await expect(store.read()).rejects.toMatchObject({ code: 'ELOOP' });
  });
});

describe('Auth', () => {
  it('given first boot, then a setup code is written 0600; a restart before setup replaces it', async () => {
    const { auth } = makeAuth();
    await auth.start();
    const path = join(dir, 'ui', 'setup-code');
    const first = (await readFile(path, 'utf8')).trim();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await makeAuth().auth.start();
    expect((await readFile(path, 'utf8')).trim()).not.toBe(first);
    expect(auth.configured).toBe(false);
  });

  it('given setup, then login gives a session; a change ends every session and gives a new one', async () => {
    const { auth, sessions } = makeAuth();
    await auth.start();
    const code = (await readFile(join(dir, 'ui', 'setup-code'), 'utf8')).trim();
    await auth.setup('c', {
      setupCode: code,
      operator: 'alice',
      passphrase: 'correct horse battery',
    });
    await expect(
      auth.setup('c', { setupCode: code, operator: 'alice', passphrase: 'correct horse battery' }),
    ).rejects.toMatchObject({ code: 'ALREADY_CONFIGURED' });
    const a = await auth.login('c', 'correct horse battery');
    const b = await auth.login('c', 'correct horse battery');
    const c = await auth.change('c', 'correct horse battery', 'another long passphrase');
    expect(sessions.lookup(a.token, 0, false).status).toBe('unknown');
    expect(sessions.lookup(b.token, 0, false).status).toBe('unknown');
    expect(sessions.lookup(c.token, 0, false).status).toBe('live');
    // The new passphrase is what a restarted service reads.
    const restarted = makeAuth().auth;
    await restarted.start();
    await expect(restarted.login('c', 'correct horse battery')).rejects.toMatchObject({
      code: 'PASSPHRASE_INCORRECT',
    });
    expect((await restarted.login('c', 'another long passphrase')).session.operator).toBe('alice');
  });

  it('given parallel guesses from one address, then only one is hashed at a time', async () => {
    const { auth } = makeAuth();
    await auth.start();
    const code = (await readFile(join(dir, 'ui', 'setup-code'), 'utf8')).trim();
    await auth.setup('c', {
      setupCode: code,
      operator: 'alice',
      passphrase: 'correct horse battery',
    });
    const results = await Promise.allSettled(
      [1, 2, 3, 4, 5, 6, 7].map((i) => auth.login('x', `guess ${i} of seven`)),
    );
    const codes = results.map(
      (r) => ((r as PromiseRejectedResult).reason as { code: string }).code,
    );
    expect(codes.filter((c) => c === 'PASSPHRASE_INCORRECT')).toHaveLength(1);
    expect(codes.filter((c) => c === 'AUTH_BUSY')).toHaveLength(6);
  });

  it('makes setup codes of 160 bits in groups of four', () => {
    expect(newSetupCode()).toMatch(/^([A-Z2-9]{4}-){7}[A-Z2-9]{4}$/);
    expect(newSetupCode()).not.toBe(newSetupCode());
  });
});

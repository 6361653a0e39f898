import { randomBytes } from 'node:crypto';
import type { Logger } from '@secai/streams';
import type { AuthRecord, AuthStore } from './authStore.js';
import { UiError } from './errors.js';
import type { Kdf } from './kdf.js';
import { operatorProblem, passphraseProblem, PASSPHRASE_MAX_CHARS } from './passphrasePolicy.js';
import { secretsEqual, type Session, type SessionTable } from './sessions.js';
import type { LoginThrottle } from './throttle.js';

// First boot, login, logout and passphrase change: the rules of issue 14 §3 over the auth file,
// the KDF, the session table and the throttle. Nothing here logs a passphrase, a cookie token or
// a CSRF token; the setup code is logged once, when it is made (the operator reads it there).

export interface AuthDeps {
  store: AuthStore;
  kdf: Kdf;
  sessions: SessionTable;
  throttle: LoginThrottle;
  /** Milliseconds (tests inject a clock). */
  now: () => number;
  log: Logger;
}

export interface NewSession {
  token: string;
  session: Session;
}

/** 20 random bytes (160 bits) as 32 base32 characters in groups of four, easy to type. */
export function newSetupCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join('-');
}

/** A typed code as compared: separators and case do not matter. */
function normalizeCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

export class Auth {
  readonly #deps: AuthDeps;
  #record: AuthRecord | null = null;
  /** Clients with a passphrase check running: one at a time each, so parallel guesses cannot
   * all pass the lock check before the first of them is counted. */
  readonly #checking = new Set<string>();

  constructor(deps: AuthDeps) {
    this.#deps = deps;
  }

  /**
   * Reads the auth file; on first boot (none), makes a fresh setup code, writes it 0600 and logs
   * it once. A code from an earlier boot is replaced, so only the newest one printed works.
   */
  async start(): Promise<void> {
    const { store, log } = this.#deps;
    await store.ensureDir();
    this.#record = await store.read();
    if (this.#record) {
      await store.removeSetupCode();
      return;
    }
    const code = newSetupCode();
    await store.writeSetupCode(code);
    // The one secret that is ever logged, once: the operator needs it for the first visit.
    log.info({ path: store.setupCodePath }, `UI setup code: ${code}`);
  }

  get configured(): boolean {
    return this.#record !== null;
  }

  get operator(): string | null {
    return this.#record?.operator ?? null;
  }

  async setup(
    client: string,
    input: { setupCode: string; operator: string; passphrase: string },
  ): Promise<void> {
    const { store, kdf, throttle, now, log } = this.#deps;
    if (this.#record) throw new UiError('ALREADY_CONFIGURED', 'the passphrase is already set');
    this.#throttled(client);
    const expected = await store.readSetupCode();
    if (expected === null)
      throw new UiError('SETUP_UNAVAILABLE', 'no setup code is waiting (restart the UI service)');
    if (!secretsEqual(normalizeCode(input.setupCode), normalizeCode(expected))) {
      throttle.fail(client, now());
      log.warn({ client }, 'setup refused: wrong setup code');
      throw new UiError('SETUP_CODE_INVALID', 'the setup code is not the one printed at boot');
    }
    const nameProblem = operatorProblem(input.operator);
    if (nameProblem) throw new UiError('OPERATOR_INVALID', nameProblem);
    const problem = passphraseProblem(input.passphrase, input.operator);
    if (problem) throw new UiError('PASSPHRASE_POLICY', problem);
    const record: AuthRecord = {
      version: 1,
      operator: input.operator,
      passphrase: await kdf.hash(input.passphrase),
      createdAt: new Date(now()).toISOString(),
    };
    if (!(await store.create(record)))
      throw new UiError('ALREADY_CONFIGURED', 'another setup set the passphrase first');
    this.#record = record;
    throttle.succeed(client);
    await store.removeSetupCode();
    log.info({ operator: record.operator }, 'UI passphrase set; the setup code is consumed');
  }

  async login(client: string, passphrase: string): Promise<NewSession> {
    const { sessions, now, log } = this.#deps;
    const record = this.#record;
    if (!record) throw new UiError('NOT_CONFIGURED', 'no passphrase is set yet: set it up first');
    await this.#checkPassphrase(client, record, passphrase, 'PASSPHRASE_INCORRECT');
    const created = sessions.create(record.operator, now());
    log.info({ client, operator: record.operator }, 'operator logged in');
    return created;
  }

  logout(sessionId: string): void {
    this.#deps.sessions.revoke(sessionId);
  }

  /** Sets a new passphrase: every session ends, then the caller gets a new one. */
  async change(client: string, current: string, next: string): Promise<NewSession> {
    const { store, kdf, sessions, now, log } = this.#deps;
    const record = this.#record;
    if (!record) throw new UiError('NOT_CONFIGURED', 'no passphrase is set yet: set it up first');
    await this.#checkPassphrase(client, record, current, 'CURRENT_PASSPHRASE_INCORRECT');
    const problem = passphraseProblem(next, record.operator);
    if (problem) throw new UiError('PASSPHRASE_POLICY', problem);
    if (next === current)
      throw new UiError('PASSPHRASE_POLICY', 'the new passphrase must differ from the current one');
    const updated: AuthRecord = {
      ...record,
      passphrase: await kdf.hash(next),
      changedAt: new Date(now()).toISOString(),
    };
    await store.replace(updated);
    this.#record = updated;
    sessions.revokeAll();
    log.info({ client, operator: record.operator }, 'passphrase changed; every session ended');
    return sessions.create(record.operator, now());
  }

  #throttled(client: string): void {
    const verdict = this.#deps.throttle.check(client, this.#deps.now());
    if (!verdict.allowed)
      throw new UiError(
        'LOCKED_OUT',
        verdict.scope === 'global'
          ? 'too many failed logins on this appliance; every login waits'
          : 'too many failed attempts from this address',
        { retryAfterSeconds: verdict.retryAfterSeconds },
      );
  }

  /** The lock first (even the right passphrase waits it out), then the hash. */
  async #checkPassphrase(
    client: string,
    record: AuthRecord,
    passphrase: string,
    code: 'PASSPHRASE_INCORRECT' | 'CURRENT_PASSPHRASE_INCORRECT',
  ): Promise<void> {
    const { kdf, throttle, now, log } = this.#deps;
    this.#throttled(client);
    if (this.#checking.has(client))
      throw new UiError('AUTH_BUSY', 'a passphrase check from this address is still running', {
        retryAfterSeconds: 1,
      });
    this.#checking.add(client);
    let ok: boolean;
    try {
      ok =
        [...passphrase].length <= PASSPHRASE_MAX_CHARS &&
        (await kdf.verify(passphrase, record.passphrase));
    } finally {
      this.#checking.delete(client);
    }
    // A global lock that fell while this one was hashing holds for it too.
    if (ok) this.#throttled(client);
    if (!ok) {
      const after = throttle.fail(client, now());
      log.warn({ client, locked: !after.allowed }, 'wrong passphrase');
      throw new UiError(code, 'the passphrase is not right');
    }
    throttle.succeed(client);
  }
}

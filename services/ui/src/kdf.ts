import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { UiError } from './errors.js';

// Passphrase hashing: scrypt with a random 32-byte salt, and its parameters stored beside the
// hash, so they can be raised later without locking anybody out. At most two derivations run at
// once and a short queue waits for them: a flood of logins costs CPU in bounded amounts.

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** The reference's parameters: about 128 MiB and a few hundred milliseconds per derivation. */
export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({
  N: 2 ** 17,
  r: 8,
  p: 1,
  keyLength: 64,
});

export interface PassphraseHash {
  algorithm: 'scrypt';
  params: ScryptParams;
  /** hex */
  salt: string;
  /** hex */
  hash: string;
}

/** What a stored record may ask for: anything else is refused rather than run (a doctored file). */
export function paramsAcceptable(p: ScryptParams): boolean {
  return (
    Number.isInteger(Math.log2(p.N)) &&
    p.N >= 2 ** 14 &&
    p.N <= 2 ** 20 &&
    p.r === 8 &&
    Number.isInteger(p.p) &&
    p.p >= 1 &&
    p.p <= 4 &&
    p.keyLength >= 32 &&
    p.keyLength <= 128
  );
}

function derive(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r * params.p + 32 * 1024 * 1024,
  };
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize('NFC'), salt, params.keyLength, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Runs at most `concurrency` derivations; beyond `queue` waiting, refuses with `AUTH_BUSY`. */
export class Kdf {
  readonly params: ScryptParams;
  readonly #concurrency: number;
  readonly #queueLimit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    params: ScryptParams = DEFAULT_SCRYPT,
    options: { concurrency?: number; queue?: number } = {},
  ) {
    if (!paramsAcceptable(params)) throw new Error('scrypt parameters out of bounds');
    this.params = params;
    this.#concurrency = options.concurrency ?? 2;
    this.#queueLimit = options.queue ?? 8;
  }

  async hash(passphrase: string): Promise<PassphraseHash> {
    const salt = randomBytes(32);
    const key = await this.#limited(() => derive(passphrase, salt, this.params));
    return {
      algorithm: 'scrypt',
      params: { ...this.params },
      salt: salt.toString('hex'),
      hash: key.toString('hex'),
    };
  }

  /** Whether `passphrase` matches; any malformed record is a plain false. */
  async verify(passphrase: string, stored: PassphraseHash): Promise<boolean> {
    if (
      stored.algorithm !== 'scrypt' ||
      !/^[0-9a-f]{64}$/.test(stored.salt) ||
      !/^[0-9a-f]+$/.test(stored.hash) ||
      stored.hash.length !== stored.params.keyLength * 2 ||
      !paramsAcceptable(stored.params)
    )
      return false;
    const key = await this.#limited(() =>
      derive(passphrase, Buffer.from(stored.salt, 'hex'), stored.params),
    );
    return timingSafeEqual(key, Buffer.from(stored.hash, 'hex'));
  }

  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#queueLimit)
        throw new UiError('AUTH_BUSY', 'too many passphrase checks at once; retry shortly');
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else this.#running++;
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter; only when none waits is it freed.
      if (next) next();
      else this.#running--;
    }
  }
}

import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { writeFileAtomic } from '@secai/contracts';
import { StreamError } from './errors.js';

/** One NATS identity: a user nkey whose seed stays in the state dir (0600). */
export interface NatsUser {
  name: string;
  publicKey: string;
  seed: Uint8Array;
}

const decoder = new TextDecoder();

function seedPath(stateDir: string, name: string): string {
  return join(stateDir, 'nats', 'users', `${name}.nk`);
}

/** Creates missing user nkeys and loads existing ones; returns them in the order given. */
export async function ensureNatsUsers(
  stateDir: string,
  names: readonly string[],
): Promise<NatsUser[]> {
  await mkdir(join(stateDir, 'nats', 'users'), { recursive: true, mode: 0o700 });
  const users: NatsUser[] = [];
  for (const name of names) {
    const path = seedPath(stateDir, name);
    let seed: Uint8Array;
    try {
      seed = (await loadNatsUser(stateDir, name)).seed;
    } catch (err) {
      // Only a missing seed is created; an unreadable or exposed one is an error, never replaced.
      if ((err as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw err;
      seed = createUser().getSeed();
      await writeFileAtomic(path, seed, 0o600);
    }
    users.push({ name, publicKey: fromSeed(seed).getPublicKey(), seed });
  }
  return users;
}

/** Loads one identity's seed; a missing or group-readable seed refuses (fail closed). */
export async function loadNatsUser(stateDir: string, name: string): Promise<NatsUser> {
  const path = seedPath(stateDir, name);
  let seed: Uint8Array;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new StreamError(
        'CREDENTIALS_MISSING',
        `${path} is readable by group or others; refusing to use it`,
      );
    }
    seed = await readFile(path);
  } catch (cause) {
    if (cause instanceof StreamError) throw cause;
    throw new StreamError(
      'CREDENTIALS_MISSING',
      `NATS credentials of ${name} not found at ${path}`,
      { cause },
    );
  }
  return { name, publicKey: fromSeed(seed).getPublicKey(), seed };
}

export function seedText(user: NatsUser): string {
  return decoder.decode(user.seed);
}

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@secai/contracts';
import type { PassphraseHash } from './kdf.js';

// The UI's own files under `<state>/ui/` (0700): `auth.json` (the operator and the passphrase
// hash, 0600) and, until setup is done, `setup-code` (0600). Files are opened without following
// links; the first `auth.json` is created with link(2), which fails when one exists, so two
// setups racing cannot both win: its creation is what consumes the setup code.

export interface AuthRecord {
  version: 1;
  operator: string;
  passphrase: PassphraseHash;
  createdAt: string;
  changedAt?: string;
}

const MAX_FILE_BYTES = 64 * 1024;

export class AuthStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'ui');
  }

  get authPath(): string {
    return join(this.dir, 'auth.json');
  }

  get setupCodePath(): string {
    return join(this.dir, 'setup-code');
  }

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** The record, or null when setup has not happened. A malformed file throws (fail closed). */
  async read(): Promise<AuthRecord | null> {
    const text = await readPrivate(this.authPath);
    if (text === null) return null;
    const record = JSON.parse(text) as AuthRecord;
    if (
      record?.version !== 1 ||
      typeof record.operator !== 'string' ||
      typeof record.passphrase?.hash !== 'string'
    )
      throw new Error(`${this.authPath} is not a UI auth record`);
    return record;
  }

  /** Creates the first record; false when one already exists (a setup won the race). */
  async create(record: AuthRecord): Promise<boolean> {
    const temp = join(this.dir, `.auth.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.chmod(0o600);
      await handle.writeFile(JSON.stringify(record, null, 2));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, this.authPath);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await unlink(temp).catch(() => undefined);
      await syncDir(this.dir);
    }
  }

  /** Replaces the record (a passphrase change). */
  async replace(record: AuthRecord): Promise<void> {
    await writeFileAtomic(this.authPath, JSON.stringify(record, null, 2), 0o600);
  }

  async writeSetupCode(code: string): Promise<void> {
    await writeFileAtomic(this.setupCodePath, `${code}\n`, 0o600);
  }

  async readSetupCode(): Promise<string | null> {
    const text = await readPrivate(this.setupCodePath);
    const code = text?.trim() ?? '';
    return code.length > 0 ? code : null;
  }

  async removeSetupCode(): Promise<void> {
    await unlink(this.setupCodePath).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

/** A small regular file, opened without following a link; null when absent. */
async function readPrivate(path: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${path} is not a regular file`);
    if (info.size > MAX_FILE_BYTES)
      throw new Error(`${path} is larger than ${MAX_FILE_BYTES} bytes`);
    if ((info.mode & 0o077) !== 0) throw new Error(`${path} is readable by group or others`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

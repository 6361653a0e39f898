import { lstat, mkdir, readdir, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '@secai/streams';
import { removeTree } from '../intake/snapshot.js';
import type { Importer } from './importer.js';

/**
 * The watched inbox: a file or directory dropped in `<quarantineDir>/inbox` is imported once it
 * has stayed unchanged (size, mtime, ctime) over two looks. It is first claimed by an atomic
 * rename into a private `claims/<random>/` directory (0700, the service's), so no one can reach
 * it by a path any more, and the claim is removed once intake is done (accepted or refused: a
 * refusal is logged with its reason). The drop is the appliance's to consume: a single file is
 * taken into custody by rename from the claim when no writer holds it open (intake/custody.ts),
 * else copied like an import. Hidden entries (`.name`, the usual partial-download names) are
 * left alone.
 */
export class InboxWatcher {
  readonly #seen = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #busy: Promise<void> | null = null;

  constructor(
    private readonly deps: {
      inboxDir: string;
      quarantineDir: string;
      importer: Importer;
      pollMs: number;
      log: Logger;
    },
  ) {}

  async start(): Promise<void> {
    await mkdir(this.deps.inboxDir, { recursive: true, mode: 0o770 });
    this.#timer = setInterval(() => {
      this.#busy ??= this.scan().finally(() => (this.#busy = null));
    }, this.deps.pollMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#busy;
  }

  /** One look at the inbox; claims and imports the entries that stood still since the last. */
  async scan(): Promise<void> {
    const { inboxDir, log } = this.deps;
    const names = await readdir(inboxDir).catch(() => [] as string[]);
    const present = new Set<string>();
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      present.add(name);
      const st = await lstat(join(inboxDir, name)).catch(() => null);
      if (!st) continue;
      const stamp = `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
      if (this.#seen.get(name) !== stamp) {
        this.#seen.set(name, stamp);
        continue;
      }
      this.#seen.delete(name);
      const claimDir = join(this.deps.quarantineDir, 'claims', randomBytes(16).toString('hex'));
      await mkdir(claimDir, { recursive: true, mode: 0o700 });
      const claimed = join(claimDir, name);
      try {
        await rename(join(inboxDir, name), claimed);
      } catch (err) {
        log.warn({ err, name }, 'could not claim an inbox entry');
        await removeTree(claimDir);
        continue;
      }
      try {
        const outcome = await this.deps.importer.run({
          source: claimed,
          via: 'inbox',
          consumeSource: true,
        });
        if (outcome.ok) log.info({ name, artifact: outcome.artifactId }, 'inbox entry acquired');
        else log.warn({ name, code: outcome.code, detail: outcome.message }, 'inbox entry refused');
      } finally {
        await removeTree(claimDir);
      }
    }
    for (const name of this.#seen.keys()) if (!present.has(name)) this.#seen.delete(name);
  }
}

/**
 * Claims left by a crash mid-intake go back to the inbox (their bytes are the user's: never
 * deleted unimported), to be looked at again; a name already back in the inbox stays claimed
 * and is reported.
 */
export async function returnClaims(
  quarantineDir: string,
  inboxDir: string,
  log: Logger,
): Promise<void> {
  const root = join(quarantineDir, 'claims');
  for (const claim of await readdir(root).catch(() => [] as string[])) {
    const dir = join(root, claim);
    const entries = await readdir(dir).catch(() => [] as string[]);
    let left = 0;
    for (const name of entries) {
      try {
        await lstat(join(inboxDir, name));
        left++;
        log.warn({ name, claim }, 'an interrupted claim could not go back: the name is taken');
      } catch {
        await rename(join(dir, name), join(inboxDir, name));
      }
    }
    if (left === 0) await removeTree(dir);
  }
}

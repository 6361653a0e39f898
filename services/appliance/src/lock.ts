import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplianceError } from './errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One `secai boot` per state dir: an exclusive lock file holding the owner's pid. A lock left by
 * a process that no longer exists is taken over; a live owner is a clear refusal.
 */
export async function acquireBootLock(stateDir: string): Promise<() => Promise<void>> {
  const dir = join(stateDir, 'run');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'boot.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      return async () => {
        const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (owner === process.pid) await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new ApplianceError(
          'ALREADY_RUNNING',
          `secai boot is already running on ${stateDir} (pid ${owner}); stop it first or use another --state-dir`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new ApplianceError('STATE_DIR_UNUSABLE', `cannot take the boot lock in ${dir}`);
}

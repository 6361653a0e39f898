// Whether any open file description anywhere holds a file open for writing, asked of the kernel.
//
// A read lease (fcntl F_SETLEASE, F_RDLCK) is granted on a read-only descriptor only when the
// inode's count of writers is zero (`inode_is_open_for_write`). That count is held by every open
// file description with write access: a descriptor a process kept open since before the drop, a
// writable shared mapping whose descriptor was closed, a descriptor in flight over a Unix socket,
// a loop device backed by the file. Scanning /proc/*/fd would miss the last three. The lease is
// taken and given back at once: it is a question, not a lock.
//
// Node has no fcntl, so the question is asked by perl (perl-base is Essential on Debian) on a
// descriptor this process opened and hands down as fd 3; the script is fixed and reads no byte of
// the file. Anything but a clear answer is `unknown`, which the caller treats as "maybe a writer".
import { spawn } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';

export type WriterCheck =
  | { readonly kind: 'none' }
  | { readonly kind: 'writer' }
  | { readonly kind: 'unknown'; readonly detail: string };

/** Linux values: F_SETLEASE = F_LINUX_SPECIFIC_BASE + 0, F_RDLCK 0, F_UNLCK 2, EAGAIN 11. */
const LEASE_PROBE =
  'open(my $f, "<&=", 3) or exit 3; ' +
  'if (fcntl($f, 1024, 0)) { fcntl($f, 1024, 2) or exit 5; exit 0 } ' +
  'exit(($! + 0) == 11 ? 10 : 4)';
const WRITER_EXIT = 10;
const TIMEOUT_MS = 10_000;

/**
 * Asks whether the file behind `fh` (opened read-only by the caller, who must own the file or
 * hold CAP_LEASE) is open for writing anywhere. `perl` is looked up on `path` (PATH by default).
 */
export function probeWriters(
  fh: FileHandle,
  options: { perl?: string; path?: string } = {},
): Promise<WriterCheck> {
  if (process.platform !== 'linux')
    return Promise.resolve({ kind: 'unknown', detail: 'leases are asked only on Linux' });
  return new Promise((resolve) => {
    let settled = false;
    const done = (check: WriterCheck): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(check);
    };
    const child = spawn(options.perl ?? 'perl', ['-e', LEASE_PROBE], {
      stdio: ['ignore', 'ignore', 'ignore', fh.fd],
      env: { PATH: options.path ?? process.env.PATH ?? '/usr/bin:/bin' },
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ kind: 'unknown', detail: `the lease probe took longer than ${TIMEOUT_MS} ms` });
    }, TIMEOUT_MS);
    child.on('error', (err) =>
      done({ kind: 'unknown', detail: `the lease probe did not start: ${err.message}` }),
    );
    child.on('exit', (code, signal) => {
      if (code === 0) done({ kind: 'none' });
      else if (code === WRITER_EXIT) done({ kind: 'writer' });
      else done({ kind: 'unknown', detail: `the lease probe ended with ${code ?? signal}` });
    });
  });
}

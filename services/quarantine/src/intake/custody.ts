// Custody by rename (issue 11 §6): a single file the service may consume (an inbox drop) is hashed
// where it lies and then moved into the artifact area with rename(2), link-free, instead of being
// copied. The bytes the digest names must be the bytes the stages and the registry will read, for
// as long as the artifact lives, so the file is taken only when nobody but the service can change
// it any more. The rule, checked in this order on one descriptor the service opened read-only:
//
//   1. Its directory is private to the service (owned by it, no access for group or others): the
//      inbox has already moved it there (the claim, `claims/<random>/`), so no one else can reach
//      it by a path. Custody starts with that move; nothing computed before it is trusted (the
//      inbox computes no digest, it only looks at sizes and times).
//   2. It is the regular file intake planned (same dev, inode, size, mtime, ctime), with exactly
//      one link: no other name through which it could be opened again.
//   3. It lies on the artifact area's filesystem (else rename fails with EXDEV: it is copied).
//   4. The service makes it its own, read-only (fchown to the service's uid and gid, fchmod 0444).
//      From then on no one without privilege can open it for writing or change its mode, not even
//      by reopening a read descriptor through /proc/<pid>/fd (that open checks the inode's mode).
//   5. The kernel grants a read lease on it (writers.ts): no open file description anywhere has
//      it open for writing, so no writer that predates step 4 remains. A writer is not waited for.
//   6. Its bytes are hashed through the descriptor, fsynced (the dropper's writes may still be in
//      the page cache), and its identity is checked unchanged after the hash.
// Any step that does not hold sends the file down the copy path (a fresh inode only the service
// ever wrote, hashed while copied), except a change seen after the hash, which is a refusal.
// Intake then publishes the file with its directory (snapshot.ts, `moveIntoArtifacts`).
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { identity, sameIdentity, type Identity } from './identity.js';
import { probeWriters, type WriterCheck } from './writers.js';

export type InPlaceOutcome =
  /** Hashed where it lies; publish it by rename. `id`: its identity once owned by the service. */
  | { readonly kind: 'taken'; readonly hex: string; readonly id: Identity }
  /** Copy it instead; `id` is what the copy must find (the service may have changed owner/mode). */
  | { readonly kind: 'copy'; readonly why: string; readonly id: Identity }
  | { readonly kind: 'changed'; readonly detail: string };

export interface InPlaceOptions {
  readonly chunkBytes: number;
  readonly onChunk?: (bytesHashed: number) => void | Promise<void>;
  /** Each phase's duration in milliseconds: taking it over (1–5), hashing, fsync. */
  readonly onPhase?: (phase: 'custody' | 'read' | 'sync', ms: number) => void;
  /** Tests: another answer to "is it open for writing anywhere?". */
  readonly probe?: (fh: FileHandle) => Promise<WriterCheck>;
}

/** The uid and gid this process creates files with, or null where there are none. */
function serviceIds(): { uid: number; gid: number } | null {
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  return uid === undefined || gid === undefined ? null : { uid, gid };
}

async function isPrivateDirectory(path: string, uid: number): Promise<boolean> {
  const st = await lstat(path, { bigint: true }).catch(() => null);
  return st !== null && st.isDirectory() && st.uid === BigInt(uid) && (st.mode & 0o077n) === 0n;
}

/**
 * Hashes `fh` from its start in chunks of `chunkBytes`, the next chunk read while this one is
 * hashed (the read runs on libuv's pool, the hash on this thread).
 */
async function hashHandle(
  fh: FileHandle,
  chunkBytes: number,
  onChunk?: (bytesHashed: number) => void | Promise<void>,
): Promise<{ hex: string; bytes: number }> {
  const hash = createHash('sha256');
  let current = Buffer.allocUnsafe(chunkBytes);
  let spare = Buffer.allocUnsafe(chunkBytes);
  let position = 0;
  let reading = fh.read(current, 0, chunkBytes, 0);
  for (;;) {
    const { bytesRead } = await reading;
    if (bytesRead === 0) break;
    const filled = current;
    position += bytesRead;
    reading = fh.read(spare, 0, chunkBytes, position);
    // Awaited on the next turn; a rejection meanwhile must not count as unhandled.
    reading.catch(() => undefined);
    hash.update(filled.subarray(0, bytesRead));
    await onChunk?.(position);
    current = spare;
    spare = filled;
  }
  return { hex: hash.digest('hex'), bytes: position };
}

/**
 * Steps 1–6 above for the planned file `source`, on the artifact area's device `areaDev`. Never
 * throws for what the source may be blamed for: a file that cannot be opened or looks different
 * goes to the copy path, which refuses it with the usual reason.
 */
export async function hashInCustody(
  source: string,
  planned: Identity,
  areaDev: bigint,
  options: InPlaceOptions,
): Promise<InPlaceOutcome> {
  const copy = (why: string, id: Identity = planned): InPlaceOutcome => ({ kind: 'copy', why, id });
  let started = process.hrtime.bigint();
  const phase = (name: 'custody' | 'read' | 'sync'): void => {
    const now = process.hrtime.bigint();
    options.onPhase?.(name, Number(now - started) / 1e6);
    started = now;
  };
  const ids = serviceIds();
  if (ids === null) return copy('no owner to take it over');
  if (!(await isPrivateDirectory(dirname(source), ids.uid)))
    return copy('its directory is not private to the service');
  let fh: FileHandle;
  try {
    fh = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return copy('it could not be opened');
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile() || st.nlink !== 1n || !sameIdentity(identity(st), planned))
      return copy('it is not the file that was planned');
    if (st.dev !== areaDev) return copy('it lies on another filesystem');
    try {
      if (st.uid !== BigInt(ids.uid) || st.gid !== BigInt(ids.gid))
        await fh.chown(ids.uid, ids.gid);
      await fh.chmod(0o444);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      return copy(`it cannot be made the service's own (${code})`);
    }
    const writers = await (options.probe ?? probeWriters)(fh);
    // After the probe: a writer that finished before it left bytes that can no longer change.
    const owned = identity(await fh.stat({ bigint: true }));
    phase('custody');
    if (writers.kind === 'writer') return copy('it is open for writing elsewhere', owned);
    if (writers.kind === 'unknown')
      return copy(`writers could not be ruled out: ${writers.detail}`, owned);
    const { hex, bytes } = await hashHandle(fh, options.chunkBytes, options.onChunk);
    phase('read');
    await fh.sync();
    phase('sync');
    const after = identity(await fh.stat({ bigint: true }));
    if (BigInt(bytes) !== owned.size || !sameIdentity(after, owned))
      return { kind: 'changed', detail: `changed while it was hashed (${bytes} bytes read)` };
    return { kind: 'taken', hex, id: owned };
  } finally {
    await fh.close();
  }
}

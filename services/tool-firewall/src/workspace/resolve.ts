import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { refusal, type ToolFirewallError } from '../errors.js';
import { LOGICAL_ROOT, splitLast, toDisk, toLogical } from './logical.js';

// Opening what the policy allowed, safely (issue 13 §2): the name is only a way to reach a file;
// what is checked is the opened descriptor. The last component is opened without following a
// link (O_NOFOLLOW); where the descriptor really points (`/proc/self/fd/<n>`) must be inside the
// workspace, and if a link inside the workspace led somewhere else, that place is decided again.
// Everything after that goes through the descriptor (or, for entries of a checked directory,
// through `/proc/self/fd/<n>/<name>`, which the kernel resolves from the directory the
// descriptor holds, not from a name that can be swapped).

export interface Workspace {
  /** The root as configured. */
  root: string;
  /** Its real path (what descriptors are compared with). */
  realRoot: string;
}

/** The two places the shipped policy names, created with the root. */
export const WORKSPACE_DIRS = ['user_docs', 'outputs'] as const;

/** Creates the root (0750) and its two places if absent, and resolves it. */
export async function openWorkspace(root: string): Promise<Workspace> {
  await mkdir(root, { recursive: true, mode: 0o750 });
  for (const dir of WORKSPACE_DIRS) await mkdir(join(root, dir), { recursive: true, mode: 0o750 });
  const realRoot = await realpath(root);
  if (realRoot === '/') throw new Error('the tool workspace cannot be the file system root');
  return { root, realRoot };
}

export type PathTarget = 'file' | 'directory' | 'new-file';

/** A path as a call may use it: checked, held open. */
export interface ResolvedPath {
  /** The logical path of what was opened (a link inside the workspace may lead elsewhere). */
  logical: string;
  target: PathTarget;
  /** The file or directory; for `new-file`, the directory the file will be written in. */
  handle: FileHandle;
  /** `new-file`: the name to write in `handle`'s directory. */
  name: string | null;
  stat: Stats;
}

/**
 * Where a test build steps in (never set in production): between the policy's decisions and the
 * open, and between the open and the check of the descriptor, to swap a link in or rename the
 * file out deterministically.
 */
export interface ResolverHooks {
  beforeOpen?(p: { logical: string; disk: string }): Promise<void> | void;
  afterOpen?(p: { logical: string; disk: string }): Promise<void> | void;
}

/**
 * Decides a real logical path that differs from the one asked about (a link inside the
 * workspace): true only if the policy allows the call on it too.
 */
export type Redecide = (realLogical: string) => Promise<boolean>;

/** `/proc/self/fd/<n>`: the kernel's name for what a descriptor holds. */
export function fdPath(handle: FileHandle, name?: string | Buffer): string | Buffer {
  const base = `/proc/self/fd/${handle.fd}`;
  if (name === undefined) return base;
  return typeof name === 'string'
    ? `${base}/${name}`
    : Buffer.concat([Buffer.from(`${base}/`), name]);
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const DIR_FLAGS = READ_FLAGS | constants.O_DIRECTORY;

function openFailure(
  err: unknown,
  logical: string,
  wanted: 'file' | 'directory',
): ToolFirewallError {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ELOOP':
      return refusal(
        'path',
        'PATH_ESCAPE',
        `${logical} is a symbolic link; links are not followed`,
        { cause: err },
      );
    case 'ENOENT':
      return refusal('path', 'PATH_NOT_FOUND', `${logical} does not exist`, { cause: err });
    case 'ENOTDIR':
      return refusal(
        'path',
        'PATH_KIND',
        `${logical} is not a ${wanted} (or a part of it is not a directory)`,
        { cause: err },
      );
    case 'EACCES':
    case 'EPERM':
      return refusal('path', 'PATH_UNREADABLE', `${logical} cannot be opened (${code})`, {
        cause: err,
      });
    default:
      return refusal(
        'path',
        'PATH_UNREADABLE',
        `${logical} cannot be opened (${code ?? 'error'})`,
        { cause: err },
      );
  }
}

/**
 * Opens `logical` as a `wanted` without following its last component, and checks the
 * descriptor: where it really is (inside the workspace; a different place re-decided), what it is
 * (a regular file with one link, or a directory). Closes it on any refusal.
 */
export async function openChecked(
  ws: Workspace,
  logical: string,
  wanted: 'file' | 'directory',
  redecide: Redecide,
  hooks: ResolverHooks = {},
): Promise<{ handle: FileHandle; logical: string; stat: Stats }> {
  const disk = toDisk(logical, ws.realRoot);
  if (disk === null)
    throw refusal(
      'path',
      'PATH_OUTSIDE_WORKSPACE',
      `${logical} is not under ${LOGICAL_ROOT}: the firewall runs tools in the workspace only`,
    );
  await hooks.beforeOpen?.({ logical, disk });
  let handle: FileHandle;
  try {
    handle = await open(disk, wanted === 'directory' ? DIR_FLAGS : READ_FLAGS);
  } catch (err) {
    throw openFailure(err, logical, wanted);
  }
  try {
    await hooks.afterOpen?.({ logical, disk });
    const real = await readlink(fdPath(handle));
    const realLogical = real.endsWith(' (deleted)') ? null : toLogical(real, ws.realRoot);
    if (realLogical === null)
      throw refusal(
        'path',
        'PATH_ESCAPE',
        `${logical} led outside the workspace (a link on the way, or the file was moved or removed while it was opened)`,
      );
    const stat = await handle.stat();
    if (wanted === 'file' && !stat.isFile())
      throw refusal('path', 'PATH_KIND', `${logical} is not a regular file`);
    if (wanted === 'directory' && !stat.isDirectory())
      throw refusal('path', 'PATH_KIND', `${logical} is not a directory`);
    if (wanted === 'file' && stat.nlink > 1)
      throw refusal(
        'path',
        'PATH_ESCAPE',
        `${logical} has ${stat.nlink} hard links: the same file may live outside the workspace`,
      );
    if (realLogical !== logical && !(await redecide(realLogical)))
      throw refusal(
        'path',
        'PATH_ESCAPE',
        `${logical} leads to ${realLogical}, which the policy does not allow for this call`,
      );
    return { handle, logical: realLogical, stat };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/**
 * A file to write: its directory opened and checked as above, the name must not be a link or a
 * directory there (checked through the directory's descriptor; checked again before the rename).
 */
export async function openNewFile(
  ws: Workspace,
  logical: string,
  redecide: Redecide,
  hooks: ResolverHooks = {},
): Promise<ResolvedPath> {
  const { parent, name } = splitLast(logical);
  if (name === '' || name === '.' || name === '..' || Buffer.byteLength(name) > 255)
    throw refusal('validation', 'PATH_INVALID', `${logical} does not name a file`);
  const dir = await openChecked(
    ws,
    parent,
    'directory',
    (realParent) => redecide(`${realParent}/${name}`),
    hooks,
  );
  try {
    const existing = await lstatIn(dir.handle, name);
    if (existing?.isSymbolicLink())
      throw refusal('path', 'PATH_ESCAPE', `${logical} is a symbolic link; it is never replaced`);
    if (existing && !existing.isFile())
      throw refusal('path', 'PATH_KIND', `${logical} exists and is not a regular file`);
    return {
      logical: dir.logical === LOGICAL_ROOT ? `${LOGICAL_ROOT}/${name}` : `${dir.logical}/${name}`,
      target: 'new-file',
      handle: dir.handle,
      name,
      stat: dir.stat,
    };
  } catch (err) {
    await dir.handle.close().catch(() => undefined);
    throw err;
  }
}

/** `lstat` of `name` in a checked directory, or null when there is none. */
export async function lstatIn(dir: FileHandle, name: string | Buffer): Promise<Stats | null> {
  try {
    return await lstat(fdPath(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Opens and checks every path of a call; on any refusal, closes what was already open. */
export async function resolvePath(
  ws: Workspace,
  logical: string,
  target: PathTarget,
  redecide: Redecide,
  hooks?: ResolverHooks,
): Promise<ResolvedPath> {
  if (target === 'new-file') return openNewFile(ws, logical, redecide, hooks);
  const opened = await openChecked(ws, logical, target, redecide, hooks);
  return { ...opened, target, name: null };
}

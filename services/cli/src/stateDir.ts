import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { runtimeInfoPath, type RuntimeInfo } from '@secai/streams';
import { CliError, type CliErrorCode } from './errors.js';

// What the CLI can find in a state dir before it connects. Every filesystem failure is reported
// as what it is (permission denied, not a directory, another errno) with the path: "no appliance
// is running" is said only when the state dir or its runtime file is really absent, because an
// operator who reads it starts a second appliance or goes looking in the wrong place.

/** The CLI code an errno is reported as; `null` for ENOENT (absence is not a failure here). */
export function fsFailureCode(errno: string | undefined): CliErrorCode | null {
  switch (errno) {
    case 'ENOENT':
      return null;
    case 'EACCES':
    case 'EPERM':
      return 'STATE_DIR_DENIED';
    case 'ENOTDIR':
    case 'EISDIR':
      return 'STATE_DIR_NOT_DIRECTORY';
    default:
      return 'STATE_DIR_UNREADABLE';
  }
}

const CAUSES: Record<string, string> = {
  EACCES: 'permission denied (run secai as the user that owns the state dir, or as root)',
  EPERM: 'operation not permitted (run secai as the user that owns the state dir, or as root)',
  ENOTDIR: 'not a directory (a component of the path is a file)',
  EISDIR: 'is a directory where a file was expected',
};

/** `state dir <dir>: <path>: <cause>`, coded by errno (pure: the caller did the I/O). */
export function stateDirFailure(
  stateDir: string,
  err: NodeJS.ErrnoException,
  path = err.path ?? stateDir,
): CliError {
  const code = fsFailureCode(err.code) ?? 'STATE_DIR_UNREADABLE';
  const cause = (err.code && CAUSES[err.code]) ?? `${err.code ?? 'error'}: ${err.message}`;
  return new CliError(code, `state dir ${stateDir}: cannot read ${path}: ${cause}`, { cause: err });
}

/**
 * The first filesystem error in a cause chain: the identity and credential loaders wrap an
 * EACCES in their own "missing" or "not found" error, which would name the wrong problem.
 */
export function errnoCause(err: unknown): NodeJS.ErrnoException | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
    const errno = e as NodeJS.ErrnoException;
    if (typeof errno.code === 'string' && typeof errno.syscall === 'string') return errno;
  }
  return null;
}

/** What `run/runtime.json` must hold for the CLI to use it (pure). */
export function parseRuntimeInfo(path: string, text: string): RuntimeInfo {
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch (cause) {
    throw new CliError('RUNTIME_INFO_INVALID', `${path} is not JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  const natsUrl = (info as { natsUrl?: unknown } | null)?.natsUrl;
  if (typeof info !== 'object' || info === null || typeof natsUrl !== 'string' || natsUrl === '')
    throw new CliError('RUNTIME_INFO_INVALID', `${path} does not name a bus (no natsUrl)`);
  return info as RuntimeInfo;
}

/** Whether the state dir is there; throws a coded error when it is there but unusable. */
export async function stateDirPresent(stateDir: string): Promise<boolean> {
  try {
    const info = await stat(stateDir);
    if (!info.isDirectory()) {
      throw new CliError(
        'STATE_DIR_NOT_DIRECTORY',
        `state dir ${stateDir}: not a directory (it is a file)`,
      );
    }
    // Root passes this for any mode; anyone else needs to list and enter it.
    await access(stateDir, constants.R_OK | constants.X_OK);
    return true;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const errno = err as NodeJS.ErrnoException;
    if (fsFailureCode(errno.code) === null) return false;
    throw stateDirFailure(stateDir, errno);
  }
}

/** The runtime info a running `secai boot` wrote, `null` when there is none (not running). */
export async function readRuntime(stateDir: string): Promise<RuntimeInfo | null> {
  const path = runtimeInfoPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const errno = err as NodeJS.ErrnoException;
    if (fsFailureCode(errno.code) === null) return null;
    throw stateDirFailure(stateDir, errno, path);
  }
  return parseRuntimeInfo(path, text);
}

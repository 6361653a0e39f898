// A long-lived sandboxed process with stdio (issue 13 §3): the MCP firewall launches the local MCP
// servers that policy names inside the sandbox and talks to them over stdin/stdout. The same
// confinement as `runSandboxed`, but no wall-clock limit and no stdout cap: it lives until
// kill(), until it exits by itself, or until its caller dies.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync, rmSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { codeMountFor, type CodeMount } from './codeRoot.js';
import {
  classifyExit,
  confinedArgv,
  decodeExit,
  initialIsolation,
  planConfinement,
  prepareDirs,
  removeDirs,
  sandboxPath,
  type ExitFailure,
  type ProcessLimits,
  type SandboxDirs,
  type SandboxIsolation,
} from './confinement.js';
import { SandboxTree } from './processTree.js';

export interface SpawnJob {
  /**
   * argv of the command. `node` as argv[0] is this process's own node (`process.execPath`), run
   * with `--max-old-space-size=<memoryMiB>`; otherwise an absolute path, or a bare name looked up
   * in the PATH the command gets. With namespaces, an argument that is an absolute path under a
   * `readOnlyPaths` entry or under the code mount is rewritten to where it is shown inside.
   */
  command: string[];
  /** Paths the command may read, shown read-only (see `runSandboxed`). */
  readOnlyPaths?: string[];
  /**
   * A script whose code root (`codeMountFor`) must be visible: its `package.json`, `node_modules`
   * and workspace directories are bound read-only under a root-owned placeholder, so the command
   * reaches them even under a 0700 parent (/root, `mktemp -d`).
   */
  codeMount?: string;
  /** The whole environment beyond `PATH` (default: PATH only); nothing is inherited. */
  env?: Record<string, string>;
}

/** The limits of a spawned server: no wall-clock limit and no stdout cap (it is a stream). */
export type SpawnLimits = ProcessLimits;

export const DEFAULT_SPAWN_LIMITS: SpawnLimits = {
  stderrLimitBytes: 4096,
  memoryMiB: 512,
  addressSpaceMiB: 16 * 1024,
  // CPU time, not wall time: a server that idles for days uses little; one that spins is ended.
  cpuSeconds: 3600,
  runAsUid: 65534,
};

/** `killed`: ended by kill(). The rest as in `runSandboxed`. */
export type SpawnFailure = 'killed' | ExitFailure;

export interface SandboxedExit {
  /** Exit code of the command (`null` when a signal ended it). */
  code: number | null;
  /** The signal that ended it (a namespace's 128+n decoded), or `null`. */
  signal: string | null;
  /** Absent for a clean exit 0. */
  failure?: SpawnFailure;
  detail?: string;
}

export interface SandboxedProcess {
  /** The command's stdin. Errors (EPIPE after it exited) are swallowed; `exited` says why. */
  stdin: Writable;
  /** The command's stdout, uncapped: the consumer reads it and kills what floods it. */
  stdout: Readable;
  /** Last `stderrLimitBytes` of stderr: for diagnosis only, never log it raw. */
  stderrTail(): string;
  /**
   * How it is confined, as `runSandboxed` reports it; `timeoutMs` and `outputLimitBytes` are 0
   * (none). `exitCode`, `signal` and `reapedDescendants` are filled in when it has exited.
   */
  isolation: SandboxIsolation;
  /** What was not in force and why (e.g. "not network-isolated: not running as root"). */
  notes: string[];
  /** Host pid of the outermost process, the leader of its process group. */
  pid: number;
  /** Resolves once every process of it is gone and its directories are removed. Never rejects. */
  exited: Promise<SandboxedExit>;
  /** SIGKILLs every process of it; resolves as `exited` does. Idempotent. */
  kill(): Promise<void>;
}

/** What `spawnSandboxed` rejects with when it cannot start the command. */
export class SandboxSpawnError extends Error {
  readonly code = 'spawn_failed';
  override readonly name = 'SandboxSpawnError';
}

// How long kill() waits for SIGKILLed processes to finish dying (only one stuck in uninterruptible
// sleep takes longer; `notes` then says so).
const GONE_BOUND_MS = 10_000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function checkedEnv(env: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = { PATH: sandboxPath() };
  for (const [name, value] of Object.entries(env ?? {})) {
    if (!ENV_NAME.test(name) || typeof value !== 'string' || value.includes('\0')) {
      // The name only: a value may be a secret.
      throw new SandboxSpawnError(`environment variable ${JSON.stringify(name)} is not valid`);
    }
    out[name] = value;
  }
  return out;
}

/** argv[0] as an absolute path: `node` is this node; a bare name is looked up in `path`. */
function resolveExecutable(name: string, path: string): string {
  if (name === 'node') return process.execPath;
  if (name.includes('/')) {
    if (isAbsolute(name) && isExecutableFile(name)) return name;
  } else {
    for (const dir of path.split(delimiter)) {
      if (isAbsolute(dir) && isExecutableFile(join(dir, name))) return join(dir, name);
    }
  }
  throw new SandboxSpawnError(`command ${JSON.stringify(name)} is not an executable file`);
}

/** Where a host path is shown inside the sandbox: under a read-only path or the code mount. */
function shownAt(p: string, dirs: SandboxDirs, readOnlyPaths: string[], code: CodeMount | null) {
  if (dirs.roDir === null || !isAbsolute(p)) return p;
  for (const r of readOnlyPaths) {
    const target = dirs.visibleAt.get(r);
    if (target !== undefined && (p === r || p.startsWith(r.endsWith('/') ? r : `${r}/`))) {
      return join(target, p.slice(r.length));
    }
  }
  if (code === null || dirs.codeBase === null) return p;
  let real: string;
  try {
    real = realpathSync(p);
  } catch {
    return p;
  }
  const rel = relative(code.root, real);
  const first = rel.split(sep)[0] ?? '';
  if (rel === '' || isAbsolute(rel) || first === '..' || !code.entries.includes(first)) return p;
  return join(dirs.codeBase, rel);
}

// Sandboxes still running when this process exits normally: killed and their directories removed.
// A caller killed outright cannot run this; the parent-death signal ends the processes then, and
// the directories are left in the temporary directory.
const live = new Set<{ leader: number; dirs: SandboxDirs }>();
let exitHooked = false;
function onCallerExit(): void {
  for (const { leader, dirs } of live) {
    try {
      process.kill(-leader, 'SIGKILL');
    } catch {
      // gone
    }
    for (const dir of [dirs.workDir, dirs.roDir]) {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }
}

/**
 * Starts `job.command` as a long-lived sandboxed process talking over stdio. As root with
 * util-linux `unshare`: new network namespace (only a down loopback), pid and mount namespaces,
 * the whole file system read-only except a fresh cwd, `readOnlyPaths` and the code mount shown
 * read-only, the command dropped to `nobody` (setpriv: no groups, no capabilities,
 * no_new_privs); RLIMIT_CPU/AS/CORE via prlimit; its own process group; killed when the caller
 * dies. Rejects with `SandboxSpawnError` when it cannot be started; a failure after the start
 * (a bind that fails, a crash) resolves `exited`.
 */
export async function spawnSandboxed(
  job: SpawnJob,
  limits: Partial<SpawnLimits> = {},
): Promise<SandboxedProcess> {
  const lim: SpawnLimits = { ...DEFAULT_SPAWN_LIMITS, ...limits };
  const readOnlyPaths = job.readOnlyPaths ?? [];
  const plan = planConfinement(lim.runAsUid, readOnlyPaths);
  const { useNamespaces, notes } = plan;
  if (!useNamespaces) notes.push('file system writable beyond the cwd: no mount namespace');
  if (plan.caps.setpriv === null) {
    notes.push('not killed with a caller that is killed outright: setpriv not found');
  }

  const env = checkedEnv(job.env);
  if (!Array.isArray(job.command) || job.command.length === 0) {
    throw new SandboxSpawnError('command is not a non-empty argv');
  }
  if (job.command.some((a) => typeof a !== 'string' || a.includes('\0'))) {
    throw new SandboxSpawnError('command has an argument that is not a string without NUL');
  }
  const [name = '', ...args] = job.command;
  const executable = resolveExecutable(name, env.PATH ?? '');
  for (const p of readOnlyPaths) {
    if (!isAbsolute(p) || !existsSync(p)) {
      throw new SandboxSpawnError('a read-only path is not an absolute existing path');
    }
  }
  let code: CodeMount | null = null;
  if (job.codeMount !== undefined) {
    if (!isAbsolute(job.codeMount) || !existsSync(job.codeMount)) {
      throw new SandboxSpawnError('codeMount is not an absolute path of an existing file');
    }
    if (useNamespaces) code = codeMountFor(job.codeMount);
  }

  let dirs: SandboxDirs;
  try {
    dirs = await prepareDirs(plan, readOnlyPaths, code);
  } catch (err) {
    throw new SandboxSpawnError(`cannot create the work directory: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const shown = (p: string): string => shownAt(p, dirs, readOnlyPaths, code);
  const heap =
    executable === process.execPath
      ? [`--max-old-space-size=${Math.max(16, Math.round(lim.memoryMiB))}`]
      : [];
  const argv = confinedArgv([shown(executable), ...heap, ...args.map(shown)], {
    plan,
    limits: lim,
    dirs,
    readOnlyPaths,
    readOnlyRoot: true,
    dieWithParent: true,
  });

  let child: ChildProcess;
  try {
    child = spawn(argv[0] ?? process.execPath, argv.slice(1), {
      cwd: dirs.workDir,
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    await removeDirs(dirs);
    throw new SandboxSpawnError(`spawn failed: ${(err as Error).message}`, { cause: err });
  }
  let exitSeen = false;
  const exitEvent = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (exitCode, signal) => {
      exitSeen = true;
      resolve({ code: exitCode, signal });
    }),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (err) {
    await removeDirs(dirs);
    throw new SandboxSpawnError(`spawn failed: ${(err as Error).message}`, { cause: err });
  }
  child.on('error', () => undefined); // a later kill of a reaped pid; `exited` tells the end
  const { stdin, stdout, stderr } = child;
  if (child.pid === undefined || stdin === null || stdout === null || stderr === null) {
    await removeDirs(dirs);
    throw new SandboxSpawnError('spawn gave no pid or no stdio'); // not reached with 'pipe'
  }
  const leader = child.pid;
  const entry = { leader, dirs };
  live.add(entry);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', onCallerExit);
  }

  let tail = Buffer.alloc(0);
  stderr.on('data', (chunk: Buffer) => {
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > lim.stderrLimitBytes)
      tail = tail.subarray(tail.length - lim.stderrLimitBytes);
  });
  const stderrTail = (): string => tail.toString('utf8');
  stdin.on('error', () => undefined);
  stdout.on('error', () => undefined);

  const isolation = initialIsolation(plan, readOnlyPaths, { timeoutMs: 0, outputLimitBytes: 0 });
  const tree = new SandboxTree(leader, useNamespaces ? 2 : 0);
  let killRequested = false;

  const exited = exitEvent.then(async (exit): Promise<SandboxedExit> => {
    // Whatever it left: the group and every process of the tree (the namespace's pid 1 is gone
    // already, and with it everything in the namespace).
    await tree.scanAndKill();
    const running = await tree.waitGone(GONE_BOUND_MS);
    if (running.length > 0) notes.push(`${running.length} killed process(es) still running`);
    await removeDirs(dirs);
    live.delete(entry);
    const decoded = decodeExit(exit.code, exit.signal, useNamespaces);
    isolation.exitCode = decoded.exitCode;
    isolation.signal = decoded.signal;
    isolation.reapedDescendants = tree.reapedDescendants();
    const result = { code: decoded.exitCode, signal: decoded.signal };
    if (killRequested) return { ...result, failure: 'killed', detail: 'killed by kill()' };
    const failed = classifyExit(decoded, stderrTail(), useNamespaces, lim);
    return failed === null ? result : { ...result, ...failed };
  });

  return {
    stdin,
    stdout,
    stderrTail,
    isolation,
    notes,
    pid: leader,
    exited,
    kill: async () => {
      if (!exitSeen && !killRequested) {
        killRequested = true;
        await tree.scanAndKill();
      }
      await exited;
    },
  };
}

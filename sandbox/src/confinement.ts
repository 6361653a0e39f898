// How a sandboxed process is confined, shared by `runSandboxed` (one-shot workers) and
// `spawnSandboxed` (long-lived servers): what the host allows, the fresh directories and read-only
// binds, the unshare/setpriv/prlimit argv, the environment, and what an exit means.
import { constants as osConstants, tmpdir } from 'node:os';
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { basename, delimiter, dirname, join } from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { StageIsolation } from '@secai/contracts';
import type { CodeMount } from './codeRoot.js';

export type SandboxIsolation = Static<typeof StageIsolation>;

/** The limits of every sandboxed process, a one-shot worker or a long-lived server. */
export interface ProcessLimits {
  /** Tail of stderr kept (never logged raw by callers). */
  stderrLimitBytes: number;
  /** V8 old-space limit (`--max-old-space-size`), the JavaScript heap bound. */
  memoryMiB: number;
  /**
   * RLIMIT_AS for native memory (buffers, addons, mmap of a model). Node reserves a lot of virtual
   * address space, so this must stay generous; `null` disables it (the heap limit still applies).
   */
  addressSpaceMiB: number | null;
  /** RLIMIT_CPU soft limit in seconds (SIGXCPU); the hard limit is 2 s above it. */
  cpuSeconds: number;
  /** When running as root, drop to this uid/gid (nobody) before exec; `null` keeps root. */
  runAsUid: number | null;
}

export interface SandboxCapabilities {
  root: boolean;
  unshare: string | null;
  prlimit: string | null;
  setpriv: string | null;
}

const SAFE_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function findBinary(name: string): string | null {
  for (const dir of SAFE_PATH) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

let cachedCapabilities: SandboxCapabilities | undefined;

/** What this host allows: network namespaces need root and util-linux `unshare`. */
export function sandboxCapabilities(): SandboxCapabilities {
  cachedCapabilities ??= {
    root: typeof process.getuid === 'function' && process.getuid() === 0,
    unshare: findBinary('unshare'),
    prlimit: findBinary('prlimit'),
    setpriv: findBinary('setpriv'),
  };
  return cachedCapabilities;
}

/** The PATH a sandboxed process gets: node's own directory, then the system directories. */
export function sandboxPath(): string {
  return [dirname(process.execPath), ...SAFE_PATH].join(delimiter);
}

/** Which confinement is in force on this host, and notes on what is not and why. */
export interface Confinement {
  caps: SandboxCapabilities;
  useNamespaces: boolean;
  /** The uid/gid the command drops to, or `null` (it keeps the caller's). */
  dropTo: number | null;
  notes: string[];
}

export function planConfinement(runAsUid: number | null, readOnlyPaths: string[]): Confinement {
  const caps = sandboxCapabilities();
  const notes: string[] = [];
  const useNamespaces = caps.root && caps.unshare !== null;
  if (!useNamespaces) {
    notes.push(
      `not network-isolated: ${caps.root ? 'util-linux unshare not found' : 'not running as root'}`,
    );
  }
  const dropTo = useNamespaces && caps.setpriv !== null ? runAsUid : null;
  if (useNamespaces && runAsUid !== null && caps.setpriv === null) {
    notes.push('worker runs as root: setpriv not found');
  }
  if (caps.prlimit === null) notes.push('no RLIMIT_CPU/RLIMIT_AS: prlimit not found');
  if (readOnlyPaths.length > 0 && !useNamespaces) {
    notes.push('readOnlyPaths not enforced: no mount namespace');
  }
  return { caps, useNamespaces, dropTo, notes };
}

export const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(osConstants.signals).map(([name, num]) => [num, name]),
);

const OOM_PATTERN =
  /heap out of memory|Allocation failed|Fatal process out of memory|std::bad_alloc|Cannot allocate memory|ENOMEM/i;

// A failed mount stops the shell before the worker runs; the mark tells it from a worker's own 125.
const MOUNT_FAILED_MARK = 'secai-sandbox: read-only bind mount failed';
const MOUNT_FAILED = `{ echo '${MOUNT_FAILED_MARK}' >&2; exit 125; }`;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The mount point for `source`: an empty placeholder of the same kind, covered by the bind. */
async function placeholderFor(source: string, target: string): Promise<void> {
  if (statSync(source).isDirectory()) await mkdir(target, { mode: 0o755 });
  else await writeFile(target, '', { mode: 0o444 });
}

/** A read-only bind: what is shown (source) and where (its placeholder under `roDir`). */
interface Bind {
  source: string;
  target: string;
}

export interface SandboxDirs {
  /** The fresh cwd (owned by the uid the command drops to). */
  workDir: string;
  /** Root-owned placeholders the read-only binds cover (namespace mode only). */
  roDir: string | null;
  codeBinds: Bind[];
  /** Where each `readOnlyPaths` entry is shown inside the sandbox. */
  visibleAt: Map<string, string>;
  /** Where the code root (`CodeMount.root`) is shown inside the sandbox. */
  codeBase: string | null;
}

/**
 * Makes the fresh cwd and, with namespaces, the root-owned placeholders for the read-only binds.
 * Throws if a directory cannot be made, after removing what it made.
 */
export async function prepareDirs(
  plan: Confinement,
  readOnlyPaths: string[],
  code: CodeMount | null,
): Promise<SandboxDirs> {
  const dirs: SandboxDirs = {
    workDir: '',
    roDir: null,
    codeBinds: [],
    visibleAt: new Map(),
    codeBase: null,
  };
  try {
    dirs.workDir = await mkdtemp(join(tmpdir(), 'secai-sandbox-'));
    if (plan.dropTo !== null) await chown(dirs.workDir, plan.dropTo, plan.dropTo);
    if (!plan.useNamespaces) return dirs;
    const roDir = await mkdtemp(join(tmpdir(), 'secai-ro-'));
    dirs.roDir = roDir;
    // Explicit chmod on every directory the worker traverses: mkdir's mode is cut by the umask
    // (a root umask of 077 made them as unreachable as the parents they stand in for).
    await chmod(roDir, 0o755);
    for (const [i, p] of readOnlyPaths.entries()) {
      const target = join(roDir, String(i), basename(p));
      await mkdir(dirname(target));
      await chmod(dirname(target), 0o755);
      await placeholderFor(p, target);
      dirs.visibleAt.set(p, target);
    }
    if (code !== null) {
      // The worker's code, shown like the artifact (issue 11 §0): the checkout's parent may be
      // 0700 (/root, `mktemp -d`) and is never loosened.
      const base = join(roDir, 'code', basename(code.root) || 'root');
      for (const dir of [dirname(base), base]) {
        await mkdir(dir);
        await chmod(dir, 0o755);
      }
      for (const entry of code.entries) {
        const source = join(code.root, entry);
        const target = join(base, entry);
        await placeholderFor(source, target);
        dirs.codeBinds.push({ source, target });
      }
      dirs.codeBase = base;
    }
    return dirs;
  } catch (err) {
    await removeDirs(dirs);
    throw err;
  }
}

/** Removes the cwd and the placeholders (the binds lived only in the sandbox's mount namespace). */
export async function removeDirs(dirs: SandboxDirs): Promise<void> {
  if (dirs.workDir !== '') {
    await rm(dirs.workDir, { recursive: true, force: true }).catch(() => undefined);
  }
  if (dirs.roDir) await rm(dirs.roDir, { recursive: true, force: true }).catch(() => undefined);
}

/** `\040`-style escapes of /proc/self/mountinfo. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Every mount of the host's view (which a new mount namespace starts as a copy of) with the
 * per-mount flags to keep when it is made read-only. Not /proc (unshare mounts a fresh one over
 * it) and not autofs (remounting one would trigger it).
 */
function hostMounts(): { path: string; keep: string[] }[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [{ path: '/', keep: [] }];
  }
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    const fields = before?.split(' ') ?? [];
    const rawPath = fields[4];
    if (rawPath === undefined || after === undefined) continue;
    if (after.split(' ')[0] === 'autofs') continue;
    const path = unescapeMountPath(rawPath);
    if (path === '/proc' || path.startsWith('/proc/') || path.endsWith('(deleted)')) continue;
    const options = (fields[5] ?? '').split(',');
    out.set(
      path,
      ['nosuid', 'nodev', 'noexec'].filter((o) => options.includes(o)),
    );
  }
  return [...out].map(([path, keep]) => ({ path, keep }));
}

export interface ConfineOptions {
  plan: Confinement;
  limits: Pick<ProcessLimits, 'cpuSeconds' | 'addressSpaceMiB'>;
  dirs: SandboxDirs;
  readOnlyPaths: string[];
  /**
   * Namespace mode: every mount of the host view is made read-only in the sandbox except a bind
   * of the cwd, so the command can write nowhere else (not /tmp, /var/tmp or /dev/shm either).
   */
  readOnlyRoot?: boolean;
  /**
   * The outermost process gets PR_SET_PDEATHSIG=SIGKILL (`setpriv --pdeathsig`): when the caller
   * dies, so does the sandbox (with a pid namespace, everything in it).
   */
  dieWithParent?: boolean;
}

/**
 * Wraps `inner` (the command, argv[0] absolute) in prlimit (RLIMIT_CPU, RLIMIT_AS, RLIMIT_CORE=0),
 * setpriv (drop to `dropTo`, no groups, no capabilities, no_new_privs) and, with namespaces,
 * unshare (new network, mount and pid namespaces) around a `/bin/sh` that makes the mounts.
 */
export function confinedArgv(inner: string[], o: ConfineOptions): string[] {
  const { caps, dropTo, useNamespaces } = o.plan;
  let argv = inner;
  if (caps.prlimit !== null) {
    const cpu = Math.max(1, Math.ceil(o.limits.cpuSeconds));
    const rl = [`--cpu=${cpu}:${cpu + 2}`, '--core=0'];
    if (o.limits.addressSpaceMiB !== null) {
      const as = Math.round(o.limits.addressSpaceMiB * 1024 * 1024);
      rl.push(`--as=${as}:${as}`);
    }
    argv = [caps.prlimit, ...rl, '--', ...argv];
  }
  if (dropTo !== null && caps.setpriv !== null) {
    argv = [
      caps.setpriv,
      `--reuid=${dropTo}`,
      `--regid=${dropTo}`,
      '--clear-groups',
      '--no-new-privs',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--',
      ...argv,
    ];
  }
  if (useNamespaces && caps.unshare !== null) {
    argv = [
      caps.unshare,
      '--net',
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
      '--mount-proc',
      '--',
      '/bin/sh',
      '-c',
      mountScript(o),
      'secai-sandbox',
      ...argv,
    ];
  }
  if (o.dieWithParent === true && caps.setpriv !== null) {
    argv = [caps.setpriv, '--pdeathsig', 'KILL', '--', ...argv];
  }
  return argv;
}

/**
 * sh stays pid 1 of the new pid namespace (so the worker is not an init that ignores
 * default-action signals), makes the read-only bind mounts, runs the worker and reports a signal
 * death as 128+n. When sh exits the kernel kills everything left in the namespace. Each path is
 * made read-only where it is (a root worker could otherwise write it there) and shown again under
 * the root-owned placeholder (no access to its parents needed).
 */
function mountScript(o: ConfineOptions): string {
  const { dirs, readOnlyPaths } = o;
  // By absolute path: a spawned command's own PATH (its env) is also the shell's.
  const mount = findBinary('mount') ?? 'mount';
  const bindRo = (src: string, t: string): string =>
    `${mount} --bind ${src} ${t} && ${mount} -o remount,bind,ro ${t} ${t} || ${MOUNT_FAILED}`;
  const rootLines: string[] = [];
  if (o.readOnlyRoot === true) {
    // The cwd becomes a mount of its own first (and is entered again, so the shell's cwd is that
    // mount), then every other mount turns read-only in this namespace only.
    const wd = shellQuote(dirs.workDir);
    rootLines.push(`${mount} --bind ${wd} ${wd} && cd ${wd} || ${MOUNT_FAILED}`);
    for (const { path, keep } of hostMounts()) {
      const opts = ['remount', 'bind', 'ro', ...keep].join(',');
      rootLines.push(`${mount} -o ${opts} ${shellQuote(path)} || ${MOUNT_FAILED}`);
    }
  }
  const codeMounts = dirs.codeBinds.map(({ source, target }) =>
    bindRo(shellQuote(source), shellQuote(target)),
  );
  const artifactMounts = readOnlyPaths.map((p) => {
    const src = shellQuote(p);
    const t = shellQuote(dirs.visibleAt.get(p) ?? p);
    return [bindRo(src, src), dirs.visibleAt.has(p) ? bindRo(src, t) : '']
      .filter(Boolean)
      .join('\n');
  });
  const mounts = [...codeMounts, ...artifactMounts].join('\n');
  return [...rootLines, mounts, 'unset PWD OLDPWD', '"$@"', 'exit $?'].join('\n');
}

/** The exit as the command saw it: in namespace mode sh reports a signal death as 128+n. */
export function decodeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  useNamespaces: boolean,
): { exitCode: number | null; signal: string | null } {
  if (useNamespaces && code !== null && code > 128 && code < 128 + 65) {
    const name = SIGNAL_NAMES.get(code - 128);
    if (name !== undefined) return { exitCode: null, signal: name };
  }
  return { exitCode: code, signal };
}

export type ExitFailure = 'crashed' | 'oom' | 'cpu_limit' | 'nonzero_exit' | 'spawn_failed';

/** What an exit means, or `null` for a clean exit 0. */
export function classifyExit(
  exit: { exitCode: number | null; signal: string | null },
  stderr: string,
  useNamespaces: boolean,
  limits: Pick<ProcessLimits, 'cpuSeconds' | 'memoryMiB'>,
): { failure: ExitFailure; detail: string } | null {
  const { exitCode, signal } = exit;
  if (useNamespaces && exitCode === 125 && stderr.includes(MOUNT_FAILED_MARK)) {
    return { failure: 'spawn_failed', detail: 'read-only bind mount failed' };
  }
  if (signal === 'SIGXCPU' || (signal === 'SIGKILL' && /CPU time/i.test(stderr))) {
    return { failure: 'cpu_limit', detail: `CPU time limit of ${limits.cpuSeconds} s exceeded` };
  }
  if ((exitCode !== 0 || signal !== null) && OOM_PATTERN.test(stderr)) {
    return { failure: 'oom', detail: `memory limit exceeded (heap ${limits.memoryMiB} MiB)` };
  }
  if (signal !== null) {
    return { failure: 'crashed', detail: `worker killed by ${signal}` };
  }
  if (exitCode === 1) {
    // Node's exit code for an uncaught exception.
    return { failure: 'crashed', detail: 'worker exited with code 1 (uncaught exception)' };
  }
  if (exitCode !== 0) {
    return { failure: 'nonzero_exit', detail: `worker exited with code ${String(exitCode)}` };
  }
  return null;
}

/** What the contracts' `StageIsolation` says before the command has run. */
export function initialIsolation(
  plan: Confinement,
  readOnlyPaths: string[],
  bounds: { timeoutMs: number; outputLimitBytes: number },
): SandboxIsolation {
  return {
    sandbox: plan.useNamespaces ? 'namespaces' : 'process',
    network: plan.useNamespaces ? 'none' : 'host',
    credentialless: true,
    // Vacuously true without paths: the command saw no artifact it could change.
    readOnlyArtifact: readOnlyPaths.length === 0 || plan.useNamespaces,
    timeoutMs: Math.max(0, Math.round(bounds.timeoutMs)),
    outputLimitBytes: Math.max(0, Math.round(bounds.outputLimitBytes)),
    exitCode: null,
    signal: null,
    reapedDescendants: 0,
  };
}

// The sandboxed worker process every quarantine stage runs in (issue 4 §2, reference §3.4/§3.6).
// A hostile parser that crashes, hangs, floods its output or runs out of memory is an ordinary
// failure outcome here, never an exception of the caller.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { tmpdir } from 'node:os';
import { accessSync, constants as fsConstants, existsSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, delimiter, dirname, isAbsolute, join } from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { StageIsolation } from '@secai/contracts';
import { codeMountFor, type CodeMount } from './codeRoot.js';

export type SandboxIsolation = Static<typeof StageIsolation>;

export interface SandboxLimits {
  /** Wall-clock limit; the whole process tree is SIGKILLed when it passes. */
  timeoutMs: number;
  /** stdout bytes accepted; past it the tree is killed and the run fails `output_too_large`. */
  outputLimitBytes: number;
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

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  timeoutMs: 120_000,
  outputLimitBytes: 1024 * 1024,
  stderrLimitBytes: 4096,
  memoryMiB: 2048,
  addressSpaceMiB: 16 * 1024,
  cpuSeconds: 120,
  runAsUid: 65534,
};

export interface SandboxJob {
  /** Absolute path of a node ESM module: reads JSON on stdin, prints one JSON value on stdout. */
  script: string;
  /**
   * JSON input, written to the worker's stdin. As a function it gets `visible(path)`, the path
   * under which a `readOnlyPaths` entry appears inside the sandbox.
   */
  input: unknown;
  /**
   * Paths (the artifact) the worker may read. With namespaces each is bind-mounted read-only
   * under a fresh root-owned directory (so the worker needs no access to the original's parents,
   * such as the 0700 state dir); without, the worker sees the original path.
   */
  readOnlyPaths?: string[];
}

export type SandboxFailure =
  | 'timeout'
  | 'crashed'
  | 'oom'
  | 'cpu_limit'
  | 'output_too_large'
  | 'bad_output'
  | 'nonzero_exit'
  | 'spawn_failed';

interface OutcomeCommon {
  isolation: SandboxIsolation;
  /** Why something the brief asks for was not in force (e.g. "not network-isolated: not root"). */
  notes: string[];
  /** Last `stderrLimitBytes` of stderr: for diagnosis only, never log it raw. */
  stderrTail: string;
  durationMs: number;
}

export type SandboxOutcome =
  | ({ ok: true; result: unknown } & OutcomeCommon)
  | ({ ok: false; failure: SandboxFailure; detail: string } & OutcomeCommon);

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

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(osConstants.signals).map(([name, num]) => [num, name]),
);

const OOM_PATTERN =
  /heap out of memory|Allocation failed|Fatal process out of memory|std::bad_alloc|Cannot allocate memory|ENOMEM/i;

// A failed bind stops the shell before the worker runs; the mark tells it from a worker's own 125.
const MOUNT_FAILED_MARK = 'secai-sandbox: read-only bind mount failed';
const MOUNT_FAILED = `{ echo '${MOUNT_FAILED_MARK}' >&2; exit 125; }`;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Pids of every live process whose parent chain reaches `root`, or whose process group is `pgid`,
 * and the sandbox's own chain among them (`root`, and in namespace mode its first child, the
 * pid-1 shell, and that shell's earliest child, the worker) which is not counted as reaped.
 */
async function processTree(
  root: number,
  pgid: number,
  chainDepth: number,
): Promise<{ all: Set<number>; chain: Set<number> }> {
  const parents = new Map<number, number>();
  const starts = new Map<number, number>();
  const found = new Set<number>();
  const chain = new Set<number>([root]);
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return { all: found, chain };
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const state = fields[0];
      if (state === 'Z' || state === 'X') continue;
      const pid = Number(entry);
      parents.set(pid, Number(fields[1]));
      starts.set(pid, Number(fields[19]));
      if (Number(fields[2]) === pgid) found.add(pid);
    } catch {
      // exited meanwhile
    }
  }
  const isDescendant = (pid: number): boolean => {
    let cursor: number | undefined = pid;
    for (let depth = 0; cursor !== undefined && cursor > 1 && depth < 4096; depth++) {
      if (cursor === root) return true;
      cursor = parents.get(cursor);
    }
    return false;
  };
  for (const pid of parents.keys()) if (isDescendant(pid)) found.add(pid);
  let cursor = root;
  for (let depth = 0; depth < chainDepth; depth++) {
    let first: number | undefined;
    for (const [pid, ppid] of parents) {
      if (ppid !== cursor) continue;
      if (first === undefined || (starts.get(pid) ?? 0) < (starts.get(first) ?? 0)) first = pid;
    }
    if (first === undefined) break;
    chain.add(first);
    cursor = first;
  }
  return { all: found, chain };
}

/** The mount point for `source`: an empty placeholder of the same kind, covered by the bind. */
async function placeholderFor(source: string, target: string): Promise<void> {
  if (statSync(source).isDirectory()) await mkdir(target, { mode: 0o755 });
  else await writeFile(target, '', { mode: 0o444 });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Runs `node <script>` in a throwaway worker process: empty environment (PATH and NODE_OPTIONS
 * only), fresh temporary cwd, JSON on stdin, one JSON value expected on stdout. As root with
 * util-linux `unshare`: fresh network namespace (only a down loopback), pid namespace (escaped
 * descendants die with it), mount namespace with `readOnlyPaths` bind-mounted read-only, and the
 * worker runs as `nobody` via `setpriv`. `prlimit` sets RLIMIT_CPU, RLIMIT_AS and RLIMIT_CORE=0.
 * Never throws: every problem is a failure outcome.
 */
export async function runSandboxed(
  job: SandboxJob,
  limits: Partial<SandboxLimits> = {},
): Promise<SandboxOutcome> {
  const lim: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...limits };
  const caps = sandboxCapabilities();
  const notes: string[] = [];
  const started = Date.now();
  const readOnlyPaths = job.readOnlyPaths ?? [];

  const useNamespaces = caps.root && caps.unshare !== null;
  if (!useNamespaces) {
    notes.push(
      `not network-isolated: ${caps.root ? 'util-linux unshare not found' : 'not running as root'}`,
    );
  }
  const dropTo = useNamespaces && caps.setpriv !== null ? lim.runAsUid : null;
  if (useNamespaces && lim.runAsUid !== null && caps.setpriv === null) {
    notes.push('worker runs as root: setpriv not found');
  }
  if (caps.prlimit === null) notes.push('no RLIMIT_CPU/RLIMIT_AS: prlimit not found');
  if (readOnlyPaths.length > 0 && !useNamespaces) {
    notes.push('readOnlyPaths not enforced: no mount namespace');
  }

  const isolation: SandboxIsolation = {
    sandbox: useNamespaces ? 'namespaces' : 'process',
    network: useNamespaces ? 'none' : 'host',
    credentialless: true,
    // Vacuously true without paths: the stage saw no artifact it could change.
    readOnlyArtifact: readOnlyPaths.length === 0 || useNamespaces,
    timeoutMs: Math.max(0, Math.round(lim.timeoutMs)),
    outputLimitBytes: Math.max(0, Math.round(lim.outputLimitBytes)),
    exitCode: null,
    signal: null,
    reapedDescendants: 0,
  };
  const common = (stderrTail = ''): OutcomeCommon => ({
    isolation,
    notes,
    stderrTail,
    durationMs: Date.now() - started,
  });
  const fail = (failure: SandboxFailure, detail: string, stderrTail = ''): SandboxOutcome => ({
    ok: false,
    failure,
    detail,
    ...common(stderrTail),
  });

  if (!isAbsolute(job.script) || !existsSync(job.script) || !statSync(job.script).isFile()) {
    return fail('spawn_failed', 'script is not an absolute path of a regular file');
  }
  for (const p of readOnlyPaths) {
    if (!isAbsolute(p) || !existsSync(p)) {
      return fail('spawn_failed', 'a read-only path is not an absolute existing path');
    }
  }
  let code: CodeMount | null = null;
  if (useNamespaces) {
    try {
      code = codeMountFor(job.script);
    } catch (err) {
      return fail('spawn_failed', `cannot resolve the script: ${(err as Error).message}`);
    }
  }
  let workDir: string;
  let roDir: string | null = null;
  let script = job.script;
  // Each bind: what is shown (source) and where (its placeholder under roDir).
  const codeBinds: { source: string; target: string }[] = [];
  const visibleAt = new Map<string, string>();
  try {
    workDir = await mkdtemp(join(tmpdir(), 'secai-sandbox-'));
    if (dropTo !== null) await chown(workDir, dropTo, dropTo);
    if (useNamespaces) {
      roDir = await mkdtemp(join(tmpdir(), 'secai-ro-'));
      // Explicit chmod on every directory the worker traverses: mkdir's mode is cut by the umask
      // (a root umask of 077 made them as unreachable as the parents they stand in for).
      await chmod(roDir, 0o755);
      for (const [i, p] of readOnlyPaths.entries()) {
        const target = join(roDir, String(i), basename(p));
        await mkdir(dirname(target));
        await chmod(dirname(target), 0o755);
        await placeholderFor(p, target);
        visibleAt.set(p, target);
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
          codeBinds.push({ source, target });
        }
        script = join(base, code.script);
      }
    }
  } catch (err) {
    return fail('spawn_failed', `cannot create the work directory: ${(err as Error).message}`);
  }

  let input: string;
  try {
    const visible = (p: string) => visibleAt.get(p) ?? p;
    const value: unknown =
      typeof job.input === 'function'
        ? (job.input as (v: typeof visible) => unknown)(visible)
        : job.input;
    input = JSON.stringify(value) ?? 'null';
  } catch {
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    if (roDir) await rm(roDir, { recursive: true, force: true }).catch(() => undefined);
    return fail('spawn_failed', 'input is not JSON-serialisable');
  }

  try {
    return await execute();
  } finally {
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    // The bind mounts lived only in the worker's private mount namespace: these are placeholders.
    if (roDir) await rm(roDir, { recursive: true, force: true }).catch(() => undefined);
  }

  async function execute(): Promise<SandboxOutcome> {
    const nodeArgv = [process.execPath, script];
    let argv = nodeArgv;
    if (caps.prlimit !== null) {
      const cpu = Math.max(1, Math.ceil(lim.cpuSeconds));
      const rl = [`--cpu=${cpu}:${cpu + 2}`, '--core=0'];
      if (lim.addressSpaceMiB !== null) {
        const as = Math.round(lim.addressSpaceMiB * 1024 * 1024);
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
      // sh stays pid 1 of the new pid namespace (so the worker is not an init that ignores
      // default-action signals), makes the read-only bind mounts, runs the worker and reports a
      // signal death as 128+n. When sh exits the kernel kills everything left in the namespace.
      // Each path is made read-only where it is (a root worker could otherwise write it there)
      // and shown again under the root-owned placeholder (no access to its parents needed).
      const codeMounts = codeBinds.map(({ source, target }) => {
        const src = shellQuote(source);
        const t = shellQuote(target);
        return `mount --bind ${src} ${t} && mount -o remount,bind,ro ${t} ${t} || ${MOUNT_FAILED}`;
      });
      const artifactMounts = readOnlyPaths.map((p) => {
        const src = shellQuote(p);
        const t = shellQuote(visibleAt.get(p) ?? p);
        return [
          `mount --bind ${src} ${src} && mount -o remount,bind,ro ${src} ${src} || ${MOUNT_FAILED}`,
          visibleAt.has(p)
            ? `mount --bind ${src} ${t} && mount -o remount,bind,ro ${t} ${t} || ${MOUNT_FAILED}`
            : '',
        ]
          .filter(Boolean)
          .join('\n');
      });
      const mounts = [...codeMounts, ...artifactMounts].join('\n');
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
        `${mounts}\nunset PWD OLDPWD\n"$@"\nexit $?`,
        'secai-sandbox',
        ...argv,
      ];
    }

    const env = {
      PATH: [dirname(process.execPath), ...SAFE_PATH].join(delimiter),
      NODE_OPTIONS: `--max-old-space-size=${Math.max(16, Math.round(lim.memoryMiB))}`,
    };

    let child: ChildProcess;
    try {
      child = spawn(argv[0] ?? process.execPath, argv.slice(1), {
        cwd: workDir,
        env,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      return fail('spawn_failed', `spawn failed: ${(err as Error).message}`);
    }
    const leader = child.pid;

    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = Buffer.alloc(0);
    let killedFor: SandboxFailure | null = null;
    let spawnError: Error | null = null;
    // Every process any scan found, and every pid any scan identified as the sandbox's own chain
    // (unshare → pid-1 sh → worker in namespace mode; the worker itself otherwise). The chain is
    // remembered, not recomputed per scan: once the leader has been reaped, a SIGKILLed sh or
    // worker that the kernel has not finished yet is no longer reachable from the leader and
    // (reparented) looks like an escaped group member. Recomputing the chain then counted it as
    // a reaped descendant, so a loaded machine reported 2 or 3 instead of 1.
    const seen = new Set<number>();
    const chainPids = new Set<number>();
    const chainDepth = useNamespaces ? 2 : 0;
    const scanAndKill = async (): Promise<void> => {
      if (leader === undefined) return;
      const { all: tree, chain } = await processTree(leader, leader, chainDepth);
      for (const pid of chain) chainPids.add(pid);
      for (const pid of tree) seen.add(pid);
      try {
        process.kill(-leader, 'SIGKILL');
      } catch {
        // group already empty
      }
      for (const pid of tree) killQuietly(pid);
    };
    // A kill started from a timer or the stdout handler; the exit path waits for it so its scan
    // is part of the count.
    const kills: Promise<void>[] = [];
    const killTree = (reason: SandboxFailure): void => {
      if (killedFor === null) killedFor = reason;
      kills.push(scanAndKill());
    };

    child.stdout?.on('data', (chunk: Buffer) => {
      if (killedFor !== null) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > lim.outputLimitBytes) {
        killTree('output_too_large');
        return;
      }
      stdoutChunks.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = Buffer.concat([stderrTail, chunk]);
      if (stderrTail.length > lim.stderrLimitBytes) {
        stderrTail = stderrTail.subarray(stderrTail.length - lim.stderrLimitBytes);
      }
    });
    child.stdin?.on('error', () => undefined); // the worker may exit without reading
    child.stdin?.end(input);

    const timer = setTimeout(() => killTree('timeout'), lim.timeoutMs);

    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        child.once('error', (err) => {
          spawnError = err;
          resolve({ code: null, signal: null });
        });
        child.once('exit', (code, signal) => resolve({ code, signal }));
      },
    );
    clearTimeout(timer);

    // Leftovers: the group is always killed after the stage ends (reference §3.2/§3.4).
    await Promise.all(kills);
    await scanAndKill();
    // Pipes close once every holder is dead; do not wait forever for an escaped one.
    await new Promise<void>((resolve) => {
      if (child.stdout === null || child.stdout.readableEnded) return resolve();
      const t = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve();
      }, 1000);
      child.stdout.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });

    let reaped = 0;
    for (const pid of seen) if (!chainPids.has(pid)) reaped++;
    isolation.reapedDescendants = reaped;
    let exitCode = exit.code;
    let signal: string | null = exit.signal;
    if (useNamespaces && exitCode !== null && exitCode > 128 && exitCode < 128 + 65) {
      const name = SIGNAL_NAMES.get(exitCode - 128);
      if (name !== undefined) {
        signal = name;
        exitCode = null;
      }
    }
    isolation.exitCode = exitCode;
    isolation.signal = signal;
    const stderr = stderrTail.toString('utf8');

    if (spawnError !== null) {
      return fail('spawn_failed', `spawn failed: ${(spawnError as Error).message}`, stderr);
    }
    if (killedFor === 'timeout') {
      return fail('timeout', `no result within ${lim.timeoutMs} ms; process tree killed`, stderr);
    }
    if (killedFor === 'output_too_large') {
      return fail(
        'output_too_large',
        `stdout exceeded ${lim.outputLimitBytes} bytes; process tree killed`,
        stderr,
      );
    }
    if (useNamespaces && exitCode === 125 && stderr.includes(MOUNT_FAILED_MARK)) {
      return fail('spawn_failed', 'read-only bind mount failed', stderr);
    }
    if (signal === 'SIGXCPU' || (signal === 'SIGKILL' && /CPU time/i.test(stderr))) {
      return fail('cpu_limit', `CPU time limit of ${lim.cpuSeconds} s exceeded`, stderr);
    }
    if ((exitCode !== 0 || signal !== null) && OOM_PATTERN.test(stderr)) {
      return fail('oom', `memory limit exceeded (heap ${lim.memoryMiB} MiB)`, stderr);
    }
    if (signal !== null) {
      return fail('crashed', `worker killed by ${signal}`, stderr);
    }
    if (exitCode === 1) {
      // Node's exit code for an uncaught exception.
      return fail('crashed', 'worker exited with code 1 (uncaught exception)', stderr);
    }
    if (exitCode !== 0) {
      return fail('nonzero_exit', `worker exited with code ${String(exitCode)}`, stderr);
    }
    const text = Buffer.concat(stdoutChunks).toString('utf8');
    let result: unknown;
    try {
      const decoder = new TextDecoder('utf-8', { fatal: true });
      decoder.decode(Buffer.concat(stdoutChunks));
      result = JSON.parse(text);
    } catch {
      return fail('bad_output', 'stdout is not a single JSON value in UTF-8', stderr);
    }
    return { ok: true, result, ...common(stderr) };
  }
}

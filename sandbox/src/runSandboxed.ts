// The sandboxed worker process every quarantine stage runs in (issue 4 §2, reference §3.4/§3.6).
// A hostile parser that crashes, hangs, floods its output or runs out of memory is an ordinary
// failure outcome here, never an exception of the caller.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
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
  type ProcessLimits,
  type SandboxDirs,
  type SandboxIsolation,
} from './confinement.js';
import { SandboxTree } from './processTree.js';

export interface SandboxLimits extends ProcessLimits {
  /** Wall-clock limit; the whole process tree is SIGKILLed when it passes. */
  timeoutMs: number;
  /** stdout bytes accepted; past it the tree is killed and the run fails `output_too_large`. */
  outputLimitBytes: number;
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
  const started = Date.now();
  const readOnlyPaths = job.readOnlyPaths ?? [];
  const plan = planConfinement(lim.runAsUid, readOnlyPaths);
  const { useNamespaces, notes } = plan;

  const isolation = initialIsolation(plan, readOnlyPaths, lim);
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
  let dirs: SandboxDirs;
  try {
    dirs = await prepareDirs(plan, readOnlyPaths, code);
  } catch (err) {
    return fail('spawn_failed', `cannot create the work directory: ${(err as Error).message}`);
  }
  const script =
    code !== null && dirs.codeBase !== null ? join(dirs.codeBase, code.script) : job.script;

  let input: string;
  try {
    const visible = (p: string) => dirs.visibleAt.get(p) ?? p;
    const value: unknown =
      typeof job.input === 'function'
        ? (job.input as (v: typeof visible) => unknown)(visible)
        : job.input;
    input = JSON.stringify(value) ?? 'null';
  } catch {
    await removeDirs(dirs);
    return fail('spawn_failed', 'input is not JSON-serialisable');
  }

  try {
    return await execute();
  } finally {
    await removeDirs(dirs);
  }

  async function execute(): Promise<SandboxOutcome> {
    const argv = confinedArgv([process.execPath, script], {
      plan,
      limits: lim,
      dirs,
      readOnlyPaths,
    });
    const env = {
      PATH: sandboxPath(),
      NODE_OPTIONS: `--max-old-space-size=${Math.max(16, Math.round(lim.memoryMiB))}`,
    };

    let child: ChildProcess;
    try {
      child = spawn(argv[0] ?? process.execPath, argv.slice(1), {
        cwd: dirs.workDir,
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
    const tree = new SandboxTree(leader, useNamespaces ? 2 : 0);
    // A kill started from a timer or the stdout handler; the exit path waits for it so its scan
    // is part of the count.
    const kills: Promise<void>[] = [];
    const killTree = (reason: SandboxFailure): void => {
      if (killedFor === null) killedFor = reason;
      kills.push(tree.scanAndKill());
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
    await tree.scanAndKill();
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

    isolation.reapedDescendants = tree.reapedDescendants();
    const { exitCode, signal } = decodeExit(exit.code, exit.signal, useNamespaces);
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
    const failed = classifyExit({ exitCode, signal }, stderr, useNamespaces, lim);
    if (failed !== null) return fail(failed.failure, failed.detail, stderr);
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

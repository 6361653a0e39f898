import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamError } from './errors.js';

const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export const NATS_INSTALL_HINT =
  'nats-server is not installed. On Debian 12 run, as root: apt-get update && apt-get install -y nats-server ' +
  '(or set SECAI_NATS_SERVER to the binary).';

/** Finds the nats-server binary: $SECAI_NATS_SERVER, PATH, then Debian's /usr/sbin. */
export function findNatsServer(): string {
  const fromEnv = process.env.SECAI_NATS_SERVER;
  if (fromEnv) {
    if (!existsSync(fromEnv))
      throw new StreamError('NATS_SERVER_MISSING', `SECAI_NATS_SERVER=${fromEnv} does not exist`);
    return fromEnv;
  }
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const onPath = which.stdout.trim();
  if (which.status === 0 && onPath) return onPath;
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new StreamError('NATS_SERVER_MISSING', NATS_INSTALL_HINT);
  return found;
}

/** `v2.9.10` → [2, 9, 10] */
export function natsServerVersion(binary = findNatsServer()): [number, number, number] {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout;
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m)
    throw new StreamError('NATS_SERVER_FAILED', `cannot read the version of ${binary}: ${out}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  /** `ws://127.0.0.1:<port>` when the config has a websocket listener (from the ports file). */
  readonly websocketUrl: string | undefined;
  readonly pid: number;
  readonly configPath: string;
  /** Graceful stop (SIGTERM): JetStream flushes and closes its files. */
  stop(): Promise<void>;
  /** `kill -9`: what a crash looks like. */
  kill(): Promise<void>;
  /**
   * Re-reads the config file (SIGHUP) and resolves once the server's log says it reloaded; a
   * config the server refuses, or no word within `timeoutMs`, is NATS_SERVER_FAILED. A user left
   * out of the new config loses its open connections at once ("Authorization Violation").
   */
  reload(timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code or signal when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface LaunchOptions {
  /** Path of the rendered config (see renderServerConfig). */
  configPath: string;
  /** Directory for the ports file and the server log. */
  runDir: string;
  binary?: string;
  timeoutMs?: number;
  /**
   * Run in its own process group, so a Ctrl-C on the terminal reaches only the supervisor, which
   * stops the services first and the bus last (nothing in flight is lost).
   */
  detached?: boolean;
}

/**
 * Stops a nats-server left running by a supervisor that died (its ports file in `runDir` names
 * its pid), so the next start can bind the port again.
 */
export async function stopStaleNatsServer(runDir: string): Promise<number | null> {
  const files = await readdir(runDir).catch(() => [] as string[]);
  for (const f of files) {
    const m = /^nats-server_(\d+)\.ports$/.exec(f);
    if (!m) continue;
    const pid = Number(m[1]);
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes('nats-server') || !cmdline.includes(runDir)) continue;
    process.kill(pid, 'SIGTERM');
    for (
      let i = 0;
      i < 100 && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null)) !== null;
      i++
    )
      await sleep(50);
    return pid;
  }
  return null;
}

/**
 * Starts nats-server as a child process and waits until it accepts connections. The server
 * writes the port it bound to a ports file (`--ports_file_dir`), so a config with port -1 gets a
 * free random port without a race.
 */
export async function launchNatsServer(options: LaunchOptions): Promise<NatsServerHandle> {
  const binary = options.binary ?? findNatsServer();
  await mkdir(options.runDir, { recursive: true, mode: 0o700 });
  for (const f of await readdir(options.runDir)) {
    if (f.endsWith('.ports')) await rm(join(options.runDir, f), { force: true });
  }
  const logPath = join(options.runDir, 'nats-server.log');
  await writeFile(logPath, '', { flag: 'a' });
  const child: ChildProcess = spawn(
    binary,
    ['-c', options.configPath, '--ports_file_dir', options.runDir, '-l', logPath],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: options.detached ?? false },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let ended = false;
  void exited.then(() => (ended = true));

  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const portsFile = join(options.runDir, `nats-server_${child.pid}.ports`);
  let url: string | undefined;
  let websocketUrl: string | undefined;
  while (!url) {
    if (ended) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      throw new StreamError(
        'NATS_SERVER_FAILED',
        `nats-server exited at start: ${stderr || log.slice(-2048)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new StreamError(
        'NATS_SERVER_FAILED',
        `nats-server did not start within ${options.timeoutMs ?? 15_000} ms`,
      );
    }
    try {
      const ports = JSON.parse(await readFile(portsFile, 'utf8')) as {
        nats?: string[];
        websocket?: string[];
      };
      url = ports.nats?.[0];
      websocketUrl = ports.websocket?.[0];
    } catch {
      await sleep(20);
    }
  }
  const port = Number(new URL(url).port);
  const stopWith = async (signal: NodeJS.Signals) => {
    if (!ended) child.kill(signal);
    await exited;
  };
  // One reload at a time: each reads the log from where its own SIGHUP started.
  let reloading: Promise<void> = Promise.resolve();
  const reload = (timeoutMs = 10_000) => {
    const next = reloading.then(() => reloadOnce(child, logPath, () => ended, timeoutMs));
    reloading = next.catch(() => undefined);
    return next;
  };
  return {
    url,
    port,
    websocketUrl,
    pid: child.pid!,
    configPath: options.configPath,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    reload,
    exited,
  };
}

const RELOADED = 'Reloaded server configuration';
const RELOAD_FAILED = /Failed to reload server configuration: ?(.*)/;

/** SIGHUP, then read the log written after it: the server says whether it took the config. */
async function reloadOnce(
  child: ChildProcess,
  logPath: string,
  ended: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const from = (await stat(logPath).catch(() => ({ size: 0 }))).size;
  if (ended())
    throw new StreamError('NATS_SERVER_FAILED', 'nats-server is not running: nothing to reload');
  child.kill('SIGHUP');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tail = (await readFile(logPath).catch(() => Buffer.alloc(0))).subarray(from).toString();
    const failed = RELOAD_FAILED.exec(tail);
    if (failed)
      throw new StreamError(
        'NATS_SERVER_FAILED',
        `nats-server refused the new config: ${failed[1]}`,
      );
    if (tail.includes(RELOADED)) return;
    if (ended()) throw new StreamError('NATS_SERVER_FAILED', 'nats-server exited during a reload');
    if (Date.now() > deadline)
      throw new StreamError(
        'NATS_SERVER_FAILED',
        `nats-server did not confirm a reload within ${timeoutMs} ms`,
      );
    await sleep(20);
  }
}

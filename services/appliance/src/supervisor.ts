import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decideRestart, DEFAULT_RESTART_POLICY, type RestartPolicy } from './restartPolicy.js';

export type ServiceState =
  'starting' | 'running' | 'restarting' | 'failed' | 'stopping' | 'stopped';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  pid: number | null;
  restarts: number;
  port: number | undefined;
  lastExit: { code: number | null; signal: string | null } | null;
}

export interface ManagedService {
  name: string;
  entry: string;
  env: Record<string, string>;
  port: number | undefined;
}

export interface SupervisorEvents {
  /** The bounded restart policy gave up on a service. */
  onGaveUp(name: string, restartsInWindow: number, lastExit: ServiceStatus['lastExit']): void;
  onExit?(name: string, exit: ServiceStatus['lastExit'], willRestart: boolean): void;
}

interface Slot {
  def: ManagedService;
  status: ServiceStatus;
  child: ChildProcess | null;
  restartTimes: number[];
  timer: NodeJS.Timeout | null;
  exited: Promise<void> | null;
}

/**
 * Runs each service as its own node process with its own environment (its identity, its port),
 * logs to `<stateDir>/logs/<name>.log`, and restarts a crashed service under a bounded policy.
 */
export class Supervisor {
  readonly #slots = new Map<string, Slot>();
  readonly #logDir: string;
  readonly #policy: RestartPolicy;
  readonly #events: SupervisorEvents;
  #stopping = false;

  constructor(
    stateDir: string,
    events: SupervisorEvents,
    policy: RestartPolicy = DEFAULT_RESTART_POLICY,
  ) {
    this.#logDir = join(stateDir, 'logs');
    this.#events = events;
    this.#policy = policy;
  }

  async start(def: ManagedService): Promise<void> {
    await mkdir(this.#logDir, { recursive: true, mode: 0o700 });
    const slot: Slot = {
      def,
      status: {
        name: def.name,
        state: 'starting',
        pid: null,
        restarts: 0,
        port: def.port,
        lastExit: null,
      },
      child: null,
      restartTimes: [],
      timer: null,
      exited: null,
    };
    this.#slots.set(def.name, slot);
    this.#spawn(slot);
  }

  markRunning(name: string): void {
    const slot = this.#slots.get(name);
    if (slot && slot.status.state === 'starting') slot.status.state = 'running';
  }

  status(): ServiceStatus[] {
    return [...this.#slots.values()].map((s) => ({ ...s.status }));
  }

  /**
   * SIGTERM every service in reverse start order; SIGKILL what has not exited in `graceMs`.
   * `parallel`: all at once (the bus is down, so the order buys nothing and each would wait).
   */
  async stopAll(graceMs = 10_000, options: { parallel?: boolean } = {}): Promise<void> {
    this.#stopping = true;
    const slots = [...this.#slots.values()].reverse();
    if (options.parallel) {
      await Promise.all(slots.map((slot) => this.#stop(slot, graceMs)));
      return;
    }
    for (const slot of slots) await this.#stop(slot, graceMs);
  }

  async #stop(slot: Slot, graceMs: number): Promise<void> {
    if (slot.timer) clearTimeout(slot.timer);
    const child = slot.child;
    if (!child || !slot.exited) {
      slot.status.state = slot.status.state === 'failed' ? 'failed' : 'stopped';
      return;
    }
    slot.status.state = 'stopping';
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await slot.exited;
    clearTimeout(killer);
    slot.status.state = 'stopped';
  }

  #spawn(slot: Slot): void {
    const log: WriteStream = createWriteStream(join(this.#logDir, `${slot.def.name}.log`), {
      flags: 'a',
      mode: 0o600,
    });
    const child = spawn(process.execPath, [slot.def.entry], {
      env: slot.def.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    slot.child = child;
    slot.status.pid = child.pid ?? null;
    slot.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        log.end();
        slot.child = null;
        slot.status.pid = null;
        slot.status.lastExit = { code, signal };
        resolve();
        if (this.#stopping) return;
        const decision = decideRestart(slot.restartTimes, Date.now(), this.#policy);
        this.#events.onExit?.(slot.def.name, slot.status.lastExit, decision.action === 'restart');
        if (decision.action === 'give-up') {
          slot.status.state = 'failed';
          this.#events.onGaveUp(slot.def.name, decision.restartsInWindow, slot.status.lastExit);
          return;
        }
        slot.status.state = 'restarting';
        slot.restartTimes.push(Date.now());
        slot.status.restarts++;
        slot.timer = setTimeout(() => {
          slot.timer = null;
          if (this.#stopping) return;
          slot.status.state = 'starting';
          this.#spawn(slot);
        }, decision.delayMs);
      });
    });
  }
}

import { writeFileAtomic } from '@secai/contracts';
import { launchNatsServer, type Logger, type NatsServerHandle } from '@secai/streams';
import { ApplianceError } from './errors.js';
import { decideRestart, DEFAULT_RESTART_POLICY, type RestartPolicy } from './restartPolicy.js';
import type { ServiceStatus } from './supervisor.js';

/** The bus's listening ports; 0 = any free one (the server picks, its ports file says which). */
export interface BusPorts {
  client: number;
  /** The loopback websocket listener for the browser; null: none. */
  websocket: number | null;
}

export interface NatsBusOptions {
  configPath: string;
  runDir: string;
  /** The config for these ports, from the state dir's current users. */
  render: (ports: BusPorts) => string;
  port: number;
  /** Port of the websocket listener (0 = any free one); absent: no websocket listener. */
  websocketPort?: number;
  log: Logger;
  restartPolicy?: RestartPolicy;
  /** The bounded policy gave up: the bus stays down. */
  onGaveUp: (error: ApplianceError) => void;
}

/** The row of `status()` that stands for the bus. */
export const NATS_SERVER = 'nats-server';

/**
 * The appliance's own nats-server, supervised like a service (ARCHITECTURE §5.5): a crash is
 * restarted on the same port and store under the bounded restart policy (clients reconnect to
 * the URL they know), each restart is logged and counted in its status row, and when the policy
 * gives up the bus is declared failed (`BUS_FAILED`) so that boot stops instead of running blind.
 * Its config is rewritten and reloaded in place when an identity loses its NATS user.
 */
export class NatsBus {
  readonly #options: NatsBusOptions;
  readonly #policy: RestartPolicy;
  #server: NatsServerHandle | null = null;
  #ports: BusPorts;
  #url = '';
  #websocketUrl: string | undefined;
  #stopping = false;
  #restartTimes: number[] = [];
  #timer: NodeJS.Timeout | null = null;
  /** A restart in progress: `stop()` waits for it, so no server outlives the appliance. */
  #launching: Promise<void> | null = null;
  readonly #status: ServiceStatus;

  constructor(options: NatsBusOptions) {
    this.#options = options;
    this.#policy = options.restartPolicy ?? DEFAULT_RESTART_POLICY;
    this.#ports = { client: options.port, websocket: options.websocketPort ?? null };
    this.#status = {
      name: NATS_SERVER,
      state: 'starting',
      pid: null,
      restarts: 0,
      port: undefined,
      lastExit: null,
    };
  }

  get url(): string {
    return this.#url;
  }

  /** `ws://127.0.0.1:<port>` of the websocket listener; undefined without one. */
  get websocketUrl(): string | undefined {
    return this.#websocketUrl;
  }

  /** Whether the server process is up now (not between a crash and its restart). */
  running(): boolean {
    return this.#server !== null;
  }

  status(): ServiceStatus {
    return { ...this.#status };
  }

  /** Starts the server the first time; a failure here is the caller's (NATS_START_FAILED). */
  async start(): Promise<void> {
    await this.#writeConfig();
    await this.#launch();
    // Later restarts and reloads keep the ports the clients were given (a config of port 0
    // would make the server pick another one on restart; and nats-server refuses to reload a
    // changed websocket block).
    await this.#writeConfig();
  }

  /** Writes the config from the current users and makes the running server take it. */
  async reconfigure(): Promise<void> {
    await this.#writeConfig();
    if (!this.#server)
      throw new ApplianceError(
        'BUS_FAILED',
        'nats-server is not running: the new config waits for its restart',
      );
    await this.#server.reload();
  }

  /** Graceful stop, no restart afterwards; returns at once when the server is already gone. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#status.state = this.#status.state === 'failed' ? 'failed' : 'stopping';
    await this.#launching?.catch(() => undefined);
    await this.#server?.stop();
    if (this.#status.state !== 'failed') this.#status.state = 'stopped';
  }

  async #writeConfig(): Promise<void> {
    await writeFileAtomic(this.#options.configPath, this.#options.render(this.#ports), 0o600);
  }

  async #launch(): Promise<void> {
    const server = await launchNatsServer({
      configPath: this.#options.configPath,
      runDir: this.#options.runDir,
      detached: true,
    });
    if (this.#ports.websocket !== null && server.websocketUrl === undefined) {
      // Configured but not in the ports file: the page could never connect; say so at once.
      await server.stop();
      throw new ApplianceError(
        'NATS_START_FAILED',
        'nats-server started without its websocket listener',
      );
    }
    this.#server = server;
    this.#ports = {
      client: server.port,
      websocket: server.websocketUrl ? Number(new URL(server.websocketUrl).port) : null,
    };
    this.#url = server.url;
    this.#websocketUrl = server.websocketUrl;
    this.#status.pid = server.pid;
    this.#status.state = 'running';
    void server.exited.then((exit) => this.#exited(server, exit));
  }

  #exited(server: NatsServerHandle, exit: { code: number | null; signal: string | null }): void {
    if (this.#server !== server) return;
    this.#server = null;
    this.#status.pid = null;
    this.#status.lastExit = exit;
    if (this.#stopping) return;
    this.#retry(exit);
  }

  #retry(exit: { code: number | null; signal: string | null } | null): void {
    const decision = decideRestart(this.#restartTimes, Date.now(), this.#policy);
    if (decision.action === 'give-up') {
      this.#status.state = 'failed';
      const error = new ApplianceError(
        'BUS_FAILED',
        `nats-server failed ${decision.restartsInWindow + 1} times within ${Math.round(this.#policy.windowMs / 1000)} s (last exit: ${exit?.signal ?? `code ${exit?.code ?? '?'}`}); giving up`,
      );
      this.#options.log.error(
        { restartsInWindow: decision.restartsInWindow, lastExit: exit },
        error.message,
      );
      this.#options.onGaveUp(error);
      return;
    }
    this.#options.log.warn(
      { lastExit: exit, delayMs: decision.delayMs, restart: decision.restartsInWindow },
      'nats-server exited; restarting it on the same port and store',
    );
    this.#status.state = 'restarting';
    this.#restartTimes.push(Date.now());
    this.#status.restarts++;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#stopping) return;
      this.#status.state = 'starting';
      this.#launching = this.#launch();
      void this.#launching
        .finally(() => (this.#launching = null))
        .then(
          () =>
            this.#options.log.warn(
              { pid: this.#status.pid, url: this.#url, restarts: this.#status.restarts },
              'nats-server restarted',
            ),
          (err: unknown) => {
            // A restart that does not come up (port taken, store unreadable) counts as a crash.
            this.#options.log.error({ err }, 'nats-server did not restart');
            if (!this.#stopping) this.#retry(this.#status.lastExit);
          },
        );
    }, decision.delayMs);
  }
}

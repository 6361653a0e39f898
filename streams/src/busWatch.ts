import type { NatsConnection } from '@nats-io/transport-node';

export type BusState = 'connected' | 'reconnecting' | 'closed';

export interface BusHealth {
  state: BusState;
  /** ISO time the state was entered. */
  since: string;
  /** Completed reconnects since the connection was made. */
  reconnects: number;
}

export interface BusWatch {
  /** What the connection's own status stream last said; never a network round trip. */
  health(): BusHealth;
  connected(): boolean;
  stop(): void;
}

/**
 * Follows a connection's status events so that `/health` and the gateways can say at once
 * whether the bus is there (a request to a dead bus otherwise waits for its timeout).
 */
export function watchBus(nc: NatsConnection, now: () => Date = () => new Date()): BusWatch {
  let state: BusState = nc.isClosed() ? 'closed' : 'connected';
  let since = now().toISOString();
  let reconnects = 0;
  let stopped = false;
  const enter = (next: BusState) => {
    if (next === state) return;
    state = next;
    since = now().toISOString();
  };
  void (async () => {
    for await (const s of nc.status()) {
      if (stopped) break;
      switch (s.type) {
        case 'disconnect':
        case 'reconnecting':
        case 'staleConnection':
          enter('reconnecting');
          break;
        case 'reconnect':
          reconnects++;
          enter('connected');
          break;
        case 'close':
          enter('closed');
          break;
      }
    }
  })().catch(() => undefined);
  void nc.closed().then(() => enter('closed'));
  return {
    health: () => ({ state, since, reconnects }),
    connected: () => state === 'connected',
    stop() {
      stopped = true;
    },
  };
}

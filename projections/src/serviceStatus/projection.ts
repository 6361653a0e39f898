// Node-free (the dashboard's page folds it too): the contracts' browser-safe entry only.
import { serviceOfSource } from '@secai/contracts/web';
import type { ProjectedEvent, Projection } from '../projectionTypes.js';

export type ServiceRunState = 'running' | 'stopped' | 'failed' | 'unknown';

export interface ServiceStatusEntry {
  status: ServiceRunState;
  /** Type, stream sequence and time of the last event about this service. */
  lastType: string;
  lastSeq: number;
  lastTime: string;
  /** The last process id reported (`service.started` / `service.stopped`). */
  pid?: number;
  /** The version reported by the last `service.started`. */
  version?: string;
}

export interface ServiceStatusDocument {
  services: Record<string, ServiceStatusEntry>;
}

export const SERVICE_STATUS = 'service-status';

// Names end up as document keys: anything but a plain service name is ignored.
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Per service, the last event seen from it and whether it runs: `service.started` → running,
 * `service.stopped` → stopped, and `service.failed` (emitted by the appliance supervisor about
 * `data.service`) → failed for that service. Any other event only refreshes `last*`.
 */
export const serviceStatusProjection: Projection<ServiceStatusDocument> = {
  name: SERVICE_STATUS,
  canHandle: 'all',
  initialState: () => ({ services: {} }),
  evolve(doc, e) {
    const emitter = serviceOfSource(e.event.source);
    let services = doc.services;
    if (emitter !== null && SERVICE_NAME.test(emitter)) {
      services = withEntry(services, emitter, emitterEntry(entryOf(services, emitter), e));
    }
    if (e.event.type === 'service.failed') {
      const target = stringField(e.event.data, 'service');
      if (target !== undefined && SERVICE_NAME.test(target)) {
        const entry = { ...touched(entryOf(services, target), e), status: 'failed' as const };
        services = withEntry(services, target, entry);
      }
    }
    return services === doc.services ? doc : { services };
  },
};

function emitterEntry(
  previous: ServiceStatusEntry | undefined,
  e: ProjectedEvent,
): ServiceStatusEntry {
  const entry = touched(previous, e);
  const { data } = e.event;
  switch (e.event.type) {
    case 'service.started': {
      entry.status = 'running';
      const pid = integerField(data, 'pid');
      const version = stringField(data, 'version');
      if (pid !== undefined) entry.pid = pid;
      if (version !== undefined) entry.version = version;
      return entry;
    }
    case 'service.stopped': {
      entry.status = 'stopped';
      const pid = integerField(data, 'pid');
      if (pid !== undefined) entry.pid = pid;
      return entry;
    }
    default:
      return entry;
  }
}

/** A fresh copy of the entry with `last*` set to this event. */
function touched(previous: ServiceStatusEntry | undefined, e: ProjectedEvent): ServiceStatusEntry {
  return {
    ...(previous ?? { status: 'unknown' }),
    lastType: e.event.type,
    lastSeq: e.seq,
    lastTime: e.event.time,
  };
}

function entryOf(
  services: Record<string, ServiceStatusEntry>,
  name: string,
): ServiceStatusEntry | undefined {
  return Object.hasOwn(services, name) ? services[name] : undefined;
}

function withEntry(
  services: Record<string, ServiceStatusEntry>,
  name: string,
  entry: ServiceStatusEntry,
): Record<string, ServiceStatusEntry> {
  return { ...services, [name]: entry };
}

function stringField(data: unknown, key: string): string | undefined {
  if (typeof data !== 'object' || data === null || !Object.hasOwn(data, key)) return undefined;
  const value = (data as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}

function integerField(data: unknown, key: string): number | undefined {
  if (typeof data !== 'object' || data === null || !Object.hasOwn(data, key)) return undefined;
  const value = (data as Record<string, unknown>)[key];
  return Number.isSafeInteger(value) ? (value as number) : undefined;
}

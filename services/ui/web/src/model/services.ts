import { dataOf, own, serviceOfSource, type Seen } from './types.js';

// The service-status rules of projections/src/serviceStatus, folded in the page: per service, the
// last event seen from it and whether it runs. `service.started` → running, `service.stopped` →
// stopped, `service.failed` (the supervisor's, about `data.service`) → failed for that service;
// any other event from a service only refreshes its `last*`.

export type ServiceRunState = 'running' | 'stopped' | 'failed' | 'unknown';

export interface ServiceRow {
  name: string;
  status: ServiceRunState;
  lastType: string;
  lastSeq: number;
  lastTime: string;
  pid?: number;
  version?: string;
}

export type ServicesView = Readonly<Record<string, ServiceRow>>;

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export const initialServices = (): ServicesView => ({});

export function foldServices(view: ServicesView, e: Seen): ServicesView {
  let next = view;
  const emitter = serviceOfSource(e.event.source);
  if (emitter !== null && SERVICE_NAME.test(emitter)) {
    const entry = touched(own(next, emitter), emitter, e);
    const started = dataOf(e, 'service.started');
    const stopped = dataOf(e, 'service.stopped');
    if (started) {
      entry.status = 'running';
      entry.pid = started.pid;
      entry.version = started.version;
    } else if (stopped) {
      entry.status = 'stopped';
      entry.pid = stopped.pid;
    }
    next = { ...next, [emitter]: entry };
  }
  const failed = dataOf(e, 'service.failed');
  if (failed && SERVICE_NAME.test(failed.service)) {
    const entry = touched(own(next, failed.service), failed.service, e);
    next = { ...next, [failed.service]: { ...entry, status: 'failed' } };
  }
  return next;
}

function touched(previous: ServiceRow | undefined, name: string, e: Seen): ServiceRow {
  return {
    ...(previous ?? { name, status: 'unknown' as const }),
    name,
    lastType: e.event.type,
    lastSeq: e.seq,
    lastTime: e.event.time,
  };
}

/** Rows sorted by name, for the overview. */
export function serviceRows(view: ServicesView): ServiceRow[] {
  return Object.values(view).sort((a, b) => a.name.localeCompare(b.name));
}

import {
  serviceStatusProjection,
  type ServiceRunState,
  type ServiceStatusDocument,
  type ServiceStatusEntry,
} from '@secai/projections/serviceStatus';
import type { CloudEvent } from '@secai/contracts/web';
import type { Seen } from './types.js';

// The service-status projection itself (projections/src/serviceStatus), folded in the page: the
// same rules the services, the CLI and `secai watch` read by (`service.started` → running,
// `service.stopped` → stopped, the supervisor's `service.failed` → failed for that service; any
// other event from a service only refreshes its `last*`), not a copy of them.

export type { ServiceRunState };
export type ServicesView = ServiceStatusDocument;
export type ServiceRow = ServiceStatusEntry & { name: string };

export const initialServices = (): ServicesView => serviceStatusProjection.initialState();

export function foldServices(view: ServicesView, e: Seen): ServicesView {
  // A verified envelope's event is a whole CloudEvent; the page's own type names only the fields
  // it shows.
  return serviceStatusProjection.evolve(view, {
    seq: e.seq,
    event: e.event as unknown as CloudEvent,
  });
}

/** Rows sorted by name, for the overview. */
export function serviceRows(view: ServicesView): ServiceRow[] {
  return Object.entries(view.services)
    .map(([name, entry]) => ({ name, ...entry }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

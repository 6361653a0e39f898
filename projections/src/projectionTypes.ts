import type { CloudEvent } from '@secai/contracts/web';

// The shape of a projection, apart from the runner: nothing here reaches Node, so a projection
// written against it (service-status) runs in the dashboard's page as well as in the services.

/** One event as a projection sees it: already verified, with its stream sequence. */
export interface ProjectedEvent {
  seq: number;
  event: CloudEvent;
}

/**
 * A read model as a pure fold over the stream (emmett projections): `evolve` takes the current
 * document and one event and returns the next document, without touching its input and without
 * I/O, so a rebuild from the stream gives the same document as the live one.
 */
export interface Projection<Doc> {
  name: string;
  /** Event types `evolve` is called for; `'all'` sees every event. */
  canHandle: readonly string[] | 'all';
  initialState(): Doc;
  /** Pure: returns a new document (or `doc` itself when nothing changes), never mutates `doc`. */
  evolve(doc: Doc, e: ProjectedEvent): Doc;
}

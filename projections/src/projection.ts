import { BaseError, canonicalJson } from '@secai/contracts';
import type { ProjectedEvent, Projection } from './projectionTypes.js';

export type { ProjectedEvent, Projection } from './projectionTypes.js';

/** What is persisted to resume a projection without replaying the whole stream. */
export interface ProjectionCheckpoint<Doc> {
  projection: string;
  lastSeq: number;
  document: Doc;
}

export type ProjectionErrorCode = 'CHECKPOINT_MISMATCH';

/** A checkpoint that does not belong to the projection it is loaded into. */
export class ProjectionError extends BaseError<ProjectionErrorCode> {}

/**
 * Holds one projection's document and the last stream sequence applied to it. Redelivery is
 * harmless: an event at or below `lastSeq` changes nothing, so at-least-once delivery gives
 * exactly-once documents.
 */
export class ProjectionRunner<Doc> {
  readonly projection: Projection<Doc>;
  #document: Doc;
  #lastSeq: number;
  readonly #handles: (type: string) => boolean;

  constructor(projection: Projection<Doc>, state?: { lastSeq: number; document: Doc }) {
    this.projection = projection;
    this.#document = state ? state.document : projection.initialState();
    this.#lastSeq = state ? state.lastSeq : 0;
    const { canHandle } = projection;
    if (canHandle === 'all') {
      this.#handles = () => true;
    } else {
      const types = new Set(canHandle);
      this.#handles = (type) => types.has(type);
    }
  }

  /** Resumes from a stored checkpoint of the same projection. */
  static fromCheckpoint<Doc>(
    projection: Projection<Doc>,
    checkpoint: ProjectionCheckpoint<Doc>,
  ): ProjectionRunner<Doc> {
    if (checkpoint.projection !== projection.name) {
      throw new ProjectionError(
        'CHECKPOINT_MISMATCH',
        `checkpoint of ${checkpoint.projection} cannot resume ${projection.name}`,
      );
    }
    if (!Number.isSafeInteger(checkpoint.lastSeq) || checkpoint.lastSeq < 0) {
      throw new ProjectionError(
        'CHECKPOINT_MISMATCH',
        `checkpoint lastSeq ${String(checkpoint.lastSeq)} is not a stream sequence`,
      );
    }
    return new ProjectionRunner(projection, checkpoint);
  }

  get document(): Doc {
    return this.#document;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /**
   * Applies one event. Returns false (and changes nothing) for an event already applied, i.e.
   * one whose sequence is not above `lastSeq`. Events the projection does not handle still
   * advance `lastSeq`.
   */
  apply(e: ProjectedEvent): boolean {
    if (e.seq <= this.#lastSeq) return false;
    if (this.#handles(e.event.type)) {
      this.#document = this.projection.evolve(this.#document, e);
    }
    this.#lastSeq = e.seq;
    return true;
  }

  checkpoint(): ProjectionCheckpoint<Doc> {
    return { projection: this.projection.name, lastSeq: this.#lastSeq, document: this.#document };
  }
}

/** The document as canonical JSON: a rebuild and the live projection give the same bytes. */
export function renderDocument(doc: unknown): string {
  return canonicalJson(doc);
}

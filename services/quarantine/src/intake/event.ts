// `model.acquired` data for a finished snapshot (contracts/src/events/supplyChain.ts).
import {
  ValidationError,
  schemaProblems,
  supplyChainEvents,
  type EventData,
} from '@secai/contracts';
import type { Snapshot } from './snapshot.js';

export interface AcquisitionSource {
  readonly via: 'import' | 'inbox' | 'airlock';
  /** Where the bytes came from (no userinfo, query or fragment). */
  readonly url?: string;
  /** A 40-hex git revision (Hugging Face commit). */
  readonly revision?: string;
  /** The human name given at import. */
  readonly displayName?: string;
  /** The service that signed the import command and the person it names. */
  readonly requestedBy?: { readonly service: string; readonly operator?: string };
}

export type ModelAcquiredData = EventData<'model.acquired'>;

/**
 * The exact `model.acquired` data for `snapshot`: `fileCount` only for directories, `url` and
 * `revision` only when given. Throws `ValidationError` when the result does not match the schema
 * (an invalid URL or revision, for instance).
 */
export function modelAcquiredData(
  snapshot: Snapshot,
  source: AcquisitionSource,
): ModelAcquiredData {
  const src: ModelAcquiredData['source'] = { via: source.via };
  if (source.url !== undefined) src.url = source.url;
  if (source.revision !== undefined) src.revision = source.revision;
  const data: ModelAcquiredData = {
    kind: snapshot.kind,
    name: snapshot.name,
    ...(source.displayName !== undefined ? { displayName: source.displayName } : {}),
    sizeBytes: snapshot.sizeBytes,
    digest: snapshot.digest,
    ...(snapshot.kind === 'directory' ? { fileCount: snapshot.fileCount } : {}),
    source: src,
    ...(source.requestedBy !== undefined ? { requestedBy: { ...source.requestedBy } } : {}),
  };
  const problems = schemaProblems(supplyChainEvents['model.acquired'].schema, data);
  if (problems.length > 0)
    throw new ValidationError(`invalid model.acquired data: ${problems.join('; ')}`, problems);
  return data;
}

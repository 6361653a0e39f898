import type { ManifestEntry, RegistryManifestDocument } from '@secai/projections';
import { InferenceError } from './errors.js';

// Which models inference serves: exactly the registry manifest's `available` GGUF models (pure).

export interface ServableModel {
  /** What clients name it by in `/v1/models` (its name, or `name@<hex12>` when names clash). */
  id: string;
  digest: string;
  hex: string;
  name: string;
  storePath: string;
  sizeBytes: number;
  storedAt: string;
}

const DIGEST = /^(?:sha256:)?([0-9a-f]{64})$/;

export function servableModels(doc: RegistryManifestDocument): ServableModel[] {
  const entries = Object.values(doc.models).filter(
    (m: ManifestEntry) => m.status === 'available' && m.format === 'gguf',
  );
  const counts = new Map<string, number>();
  for (const m of entries) counts.set(m.name, (counts.get(m.name) ?? 0) + 1);
  return entries
    .map((m) => {
      const hex = m.digest.slice('sha256:'.length);
      return {
        id: (counts.get(m.name) ?? 0) > 1 ? `${m.name}@${hex.slice(0, 12)}` : m.name,
        digest: m.digest,
        hex,
        name: m.name,
        storePath: m.storePath,
        sizeBytes: m.sizeBytes,
        storedAt: m.storedAt,
      };
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The model a request names: its id, its name (when only one available model has it), or its
 * digest. A model the registry knows but does not serve (contained, failed verification) is 409,
 * so a client can tell "taken away" from "never existed".
 */
export function resolveModel(doc: RegistryManifestDocument, requested: string): ServableModel {
  const servable = servableModels(doc);
  const digest = DIGEST.exec(requested)?.[1];
  const byDigest = digest ? servable.find((m) => m.hex === digest) : undefined;
  if (byDigest) return byDigest;
  const byId = servable.find((m) => m.id === requested);
  if (byId) return byId;
  const byName = servable.filter((m) => m.name === requested);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1)
    throw new InferenceError(
      'MODEL_AMBIGUOUS',
      `${byName.length} models are named ${requested}; name one by its id (${byName.map((m) => m.id).join(', ')})`,
    );
  const known = Object.values(doc.models).find(
    (m) => m.name === requested || (digest !== undefined && m.digest === `sha256:${digest}`),
  );
  if (known?.status === 'contained')
    throw new InferenceError('MODEL_CONTAINED', `${requested} was contained: ${known.note ?? ''}`);
  if (known)
    throw new InferenceError(
      'MODEL_NOT_AVAILABLE',
      `${requested} is ${known.status === 'available' ? `not servable (${known.format})` : known.status}`,
    );
  throw new InferenceError('MODEL_UNKNOWN', `no model ${requested} in the registry`);
}

import type { EventData } from '@secai/contracts';
import type { Projection } from '../projection.js';

export type ModelStatus = 'available' | 'verification_failed' | 'contained';

export interface ManifestEntry {
  /** Content digest (`sha256:<hex>`): the model's identity. */
  digest: string;
  name: string;
  format: EventData<'model.stored'>['format'];
  sizeBytes: number;
  storePath: string;
  fromArtifact: string;
  storedAt: string;
  status: ModelStatus;
  lastVerifiedAt: string | null;
  /** Why it is not available (verification problem, containment reason). */
  note: string | null;
}

export interface RegistryManifestDocument {
  models: Record<string, ManifestEntry>;
}

export const REGISTRY_MANIFEST = 'registry-manifest';

/**
 * The read-only model store under an appliance's state dir: every manifest entry's `storePath`
 * is relative to it. The registry writes there; inference and the integrity checks read there.
 */
export function modelStoreRoot(stateDir: string): string {
  // Projections stay free of I/O modules; a POSIX join is all this needs.
  return `${stateDir.replace(/\/+$/, '')}/registry/store`;
}

const MODEL_TYPES = [
  'model.stored',
  'model.verified',
  'model.verification.failed',
  'model.contained',
  'model.removed',
] as const;

/**
 * The trusted registry's manifest as a fold over `model/<sha256>` events: a model exists once
 * stored, is runnable only while `available`, loses that on a failed verification or a
 * containment, and leaves the manifest when removed. The aggregate id is the content hash, so
 * the manifest is keyed by it.
 */
export const registryManifestProjection: Projection<RegistryManifestDocument> = {
  name: REGISTRY_MANIFEST,
  canHandle: MODEL_TYPES,
  initialState: () => ({ models: {} }),
  evolve(doc, e) {
    const id = e.event.subject.slice('model/'.length);
    const current = Object.hasOwn(doc.models, id) ? doc.models[id] : undefined;
    const put = (entry: ManifestEntry | undefined): RegistryManifestDocument => {
      const models = { ...doc.models };
      if (entry) models[id] = entry;
      else delete models[id];
      return { models };
    };
    switch (e.event.type) {
      case 'model.stored': {
        const d = e.event.data as EventData<'model.stored'>;
        return put({
          digest: d.digest,
          name: d.name,
          format: d.format,
          sizeBytes: d.sizeBytes,
          storePath: d.storePath,
          fromArtifact: d.fromArtifact,
          storedAt: e.event.time,
          status: 'available',
          lastVerifiedAt: null,
          note: null,
        });
      }
      case 'model.verified':
        // A passing check does not bring back a contained model: containment is lifted only by an operator.
        return current
          ? put({
              ...current,
              lastVerifiedAt: e.event.time,
              ...(current.status === 'verification_failed'
                ? { status: 'available' as const, note: null }
                : {}),
            })
          : doc;
      case 'model.verification.failed': {
        const d = e.event.data as EventData<'model.verification.failed'>;
        return current
          ? put({
              ...current,
              status: current.status === 'contained' ? 'contained' : 'verification_failed',
              note: `verification failed: ${d.problem}`,
            })
          : doc;
      }
      case 'model.contained': {
        const d = e.event.data as EventData<'model.contained'>;
        return current ? put({ ...current, status: 'contained', note: d.reason }) : doc;
      }
      case 'model.removed':
        return put(undefined);
      default:
        return doc;
    }
  },
};

/** Models the inference service may load: stored and currently available. */
export function runnableModels(doc: RegistryManifestDocument): ManifestEntry[] {
  return Object.values(doc.models)
    .filter((m) => m.status === 'available')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

import { join } from 'node:path';
import { ArtifactDigestError, hashArtifact, treeSignature } from '@secai/contracts';
import type { ManifestEntry, RegistryManifestDocument } from '@secai/projections';
import type { ModelFileObservation } from './probes/tensorHash.js';

// The tensor_hash probe's I/O: the models the registry's manifest holds in its store, hashed
// with the registry's own artifact digest. A model is hashed again only when something about its
// files changed (inode, size, mtime, ctime, mode of every entry): a multi-gigabyte model is not
// read every cycle. Weights changed in memory without touching the file are the sentinel's to
// catch; a file written in place changes its mtime and ctime, and ctime cannot be set back.

/** Statuses whose bytes are in the store (a contained model was moved out of it). */
const IN_STORE: readonly ManifestEntry['status'][] = ['available', 'verification_failed'];

export function modelsInStore(doc: RegistryManifestDocument): ManifestEntry[] {
  return Object.values(doc.models)
    .filter((m) => IN_STORE.includes(m.status))
    .sort((a, b) => (a.storePath < b.storePath ? -1 : 1));
}

export class ModelFileHasher {
  readonly #cache = new Map<string, { signature: string; digest: string }>();
  /** Artifacts read (not taken from the cache) so far. */
  hashed = 0;

  constructor(readonly storeRoot: string) {}

  /** The digest of one stored model's file (or directory) as it is now. */
  async observe(
    m: Pick<ManifestEntry, 'digest' | 'name' | 'storePath'>,
  ): Promise<ModelFileObservation> {
    const path = join(this.storeRoot, m.storePath);
    const base = { digest: m.digest, name: m.name, storePath: m.storePath };
    const signature = await treeSignature(path);
    const cached = this.#cache.get(path);
    if (signature !== null && cached?.signature === signature)
      return { ...base, actual: { kind: 'hashed', digest: cached.digest } };
    try {
      const h = await hashArtifact(path);
      this.hashed++;
      // Kept only when nothing changed while it was read; a changing file is read again.
      if (signature !== null && (await treeSignature(path)) === signature)
        this.#cache.set(path, { signature, digest: h.digest });
      else this.#cache.delete(path);
      return { ...base, actual: { kind: 'hashed', digest: h.digest } };
    } catch (err) {
      this.#cache.delete(path);
      if (err instanceof ArtifactDigestError && err.code === 'ARTIFACT_NOT_FOUND')
        return { ...base, actual: { kind: 'missing' } };
      const code = err instanceof ArtifactDigestError ? err.code : 'ARTIFACT_UNREADABLE';
      return { ...base, actual: { kind: 'unreadable', code } };
    }
  }

  /** Every model in the store, in store-path order. */
  async observeAll(doc: RegistryManifestDocument): Promise<ModelFileObservation[]> {
    const models = modelsInStore(doc);
    const keep = new Set(models.map((m) => join(this.storeRoot, m.storePath)));
    for (const p of this.#cache.keys()) if (!keep.has(p)) this.#cache.delete(p);
    const out: ModelFileObservation[] = [];
    for (const m of models) out.push(await this.observe(m));
    return out;
  }
}

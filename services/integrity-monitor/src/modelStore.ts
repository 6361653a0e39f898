import { ArtifactDigestError, hashArtifact, treeSignature } from '@secai/contracts';
import type { ManifestEntry, RegistryManifestDocument } from '@secai/projections';
import type { ArtifactResult, ExpectedModel } from './modelRules.js';

// The model store side of a check (I/O): which models the registry says are in the store, and
// their content digests with `hashArtifact` (the registry's own definition). A model is re-hashed
// only when something about its files changed (inode, size, mtime, ctime of every entry): a
// multi-gigabyte model is not read every 30 s. The registry re-hashes every model on its own
// schedule (`model.verified`); this catches a change as soon as it happens.

/** Statuses whose bytes are in the store (a contained model has been moved out of it). */
const IN_STORE: readonly ManifestEntry['status'][] = ['available', 'verification_failed'];

export function expectedModels(doc: RegistryManifestDocument): ExpectedModel[] {
  return Object.values(doc.models)
    .filter((m) => IN_STORE.includes(m.status))
    .map((m) => ({ digest: m.digest, sizeBytes: m.sizeBytes, storePath: m.storePath }));
}

export class ModelHasher {
  readonly #cache = new Map<string, { signature: string; result: ArtifactResult }>();
  /** Models hashed (not taken from the cache) so far. */
  hashed = 0;

  /** The digest of the artifact at `path`, expected to be `digest`. */
  async result(digest: string, path: string): Promise<ArtifactResult> {
    const signature = await treeSignature(path);
    const cached = this.#cache.get(digest);
    if (signature !== null && cached?.signature === signature) return cached.result;
    let result: ArtifactResult;
    try {
      const h = await hashArtifact(path);
      result = { kind: 'hashed', digest: h.digest, sizeBytes: h.sizeBytes };
      this.hashed++;
    } catch (err) {
      result =
        err instanceof ArtifactDigestError
          ? { kind: 'failed', code: err.code, path: err.path }
          : { kind: 'failed', code: 'ARTIFACT_UNREADABLE', path };
    }
    // A failed or changing read is tried again next time; a completed one is kept.
    if (signature !== null && result.kind === 'hashed' && (await treeSignature(path)) === signature)
      this.#cache.set(digest, { signature, result });
    else this.#cache.delete(digest);
    return result;
  }

  /** Forgets models no longer expected. */
  retain(digests: Iterable<string>): void {
    const keep = new Set(digests);
    for (const d of this.#cache.keys()) if (!keep.has(d)) this.#cache.delete(d);
  }
}

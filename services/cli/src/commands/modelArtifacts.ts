import type { EventData } from '@secai/contracts';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { verifiedEvents } from '../verified.js';

// Artifacts the quarantine has seen, for `model show` of a model the registry does not hold (a
// rejected one, one still in quarantine, one removed since): the registry manifest only knows
// promoted models, the artifact stream knows every import.

/** One imported artifact: its digest's hex and the names it was imported under. */
export interface ArtifactName {
  artifact: string;
  /** `--name` when one was given, and the file or directory name. */
  names: string[];
}

/**
 * The artifact a reference names, as `model show` names models: the digest (`sha256:<hex>` or
 * the hex), a unique prefix of 12+ hex characters, or a name it was imported under. Null when
 * nothing matches; a prefix or name that matches several is a usage error, as for the registry.
 */
export function matchArtifact(known: readonly ArtifactName[], ref: string): string | null {
  const hex = /^(?:sha256:)?([0-9a-f]{12,64})$/.exec(ref)?.[1];
  if (hex) {
    const hits = known.filter((a) => a.artifact.startsWith(hex));
    if (hits.length === 1) return hits[0]!.artifact;
    if (hits.length > 1)
      throw new CliError('USAGE', `${ref} names ${hits.length} artifacts: give more of the digest`);
  }
  const byName = known.filter((a) => a.names.includes(ref));
  if (byName.length === 1) return byName[0]!.artifact;
  if (byName.length > 1)
    throw new CliError('USAGE', `${byName.length} imports are named ${ref}: use the digest`);
  return null;
}

/** Every artifact with a verified `model.acquired`, with the names of all its imports. */
export async function importedArtifacts(ctx: CliContext): Promise<ArtifactName[]> {
  const byArtifact = new Map<string, Set<string>>();
  for await (const { event } of verifiedEvents(ctx, { filterSubject: 'secai.evt.artifact.>' })) {
    if (event.type !== 'model.acquired') continue;
    const d = event.data as EventData<'model.acquired'>;
    const artifact = event.subject.slice('artifact/'.length);
    const names = byArtifact.get(artifact) ?? new Set<string>();
    if (d.displayName !== undefined) names.add(d.displayName);
    names.add(d.name);
    byArtifact.set(artifact, names);
  }
  return [...byArtifact].map(([artifact, names]) => ({ artifact, names: [...names] }));
}

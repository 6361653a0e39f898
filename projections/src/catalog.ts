import { EVENT_COUNTS, eventCountsProjection } from './eventCounts/index.js';
import type { Projection } from './projection.js';
import { REGISTRY_MANIFEST, registryManifestProjection } from './registryManifest/index.js';
import { SERVICE_STATUS, serviceStatusProjection } from './serviceStatus/index.js';

/** Every projection `secai events replay` can rebuild, by name. */
export const PROJECTIONS = {
  [SERVICE_STATUS]: serviceStatusProjection,
  [EVENT_COUNTS]: eventCountsProjection,
  [REGISTRY_MANIFEST]: registryManifestProjection,
} as const;

export type ProjectionName = keyof typeof PROJECTIONS;

/** The projection called `name`, or null when there is none. */
export function projectionByName(name: string): Projection<unknown> | null {
  if (!Object.hasOwn(PROJECTIONS, name)) return null;
  // Documents are opaque to callers that pick a projection by name (replay, render, store).
  return PROJECTIONS[name as ProjectionName];
}

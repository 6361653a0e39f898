import type { EventData } from '@secai/contracts';
import type { Projection } from '@secai/projections';

// Which models the inference service has loaded, as its `inference-model/<hex>` events say: the
// watch captures a model's sentinel baseline at its first load, and retries a capture that could
// not be made then (no policy yet, inference busy) while the model stays loaded. Pure.

export const LOADED_MODELS = 'gpu-watch-loaded-models';

export interface LoadedModelEntry {
  digest: string;
  name: string;
  backend: EventData<'inference.model.loaded'>['backend'];
  loadedAt: string;
  /** The `inference.model.loaded` event (the cause of a first-load capture). */
  eventId: string;
}

export interface LoadedModelsDocument {
  /** By model hex. */
  loaded: Record<string, LoadedModelEntry>;
}

export const loadedModelsProjection: Projection<LoadedModelsDocument> = {
  name: LOADED_MODELS,
  canHandle: ['inference.model.loaded', 'inference.model.unloaded'],
  initialState: () => ({ loaded: {} }),
  evolve(doc, e) {
    const hex = e.event.subject.slice('inference-model/'.length);
    const loaded = { ...doc.loaded };
    if (e.event.type === 'inference.model.loaded') {
      const d = e.event.data as EventData<'inference.model.loaded'>;
      loaded[hex] = {
        digest: d.model,
        name: d.name,
        backend: d.backend,
        loadedAt: e.event.time,
        eventId: e.event.id,
      };
      return { loaded };
    }
    if (e.event.type === 'inference.model.unloaded') {
      if (!Object.hasOwn(loaded, hex)) return doc;
      delete loaded[hex];
      return { loaded };
    }
    return doc;
  },
};

export {
  REGISTRY_MANIFEST,
  modelStoreRoot,
  registryManifestProjection,
  runnableModels,
  type ManifestEntry,
  type ModelStatus,
  type RegistryManifestDocument,
} from './projection.js';

export {
  REGISTRY_MANIFEST,
  registryManifestProjection,
  runnableModels,
  type ManifestEntry,
  type ModelStatus,
  type RegistryManifestDocument,
} from './projection.js';

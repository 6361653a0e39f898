// The inference engine: the only part of the service that imports node-llama-cpp.
export * from './types.js';
export {
  EngineError,
  ModelVerificationError,
  type EngineErrorCode,
  type VerificationFailure,
  type VerificationProblem,
} from './errors.js';
export {
  backendNameOf,
  chooseBackend,
  gpuRequestFor,
  type BackendAttempt,
  type BackendChoice,
  type LlamaGpuLoaded,
  type LlamaGpuRequest,
} from './backend.js';
export { createEngine } from './llama.js';
export { HASH_CHUNK_BYTES, openVerifiedModel, type VerifiedModelFile } from './verify.js';
export { TOOL_NAME, toChatHistory, toolMode, type ToolMode } from './chatHistory.js';

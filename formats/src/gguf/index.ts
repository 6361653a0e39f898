export { inspectGguf, inspectGgufFile, inspectGgufHandle } from './file.js';
export { inspectGgufSource } from './inspect.js';
export { CHAT_TEMPLATE_PATTERNS, scanChatTemplate } from './chatTemplate.js';
export {
  DEFAULT_GGUF_LIMITS,
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GgufValueType,
  ggmlTypeByName,
  type ChatTemplateFinding,
  type ChatTemplateScan,
  type GgmlTypeInfo,
  type GgufAccepted,
  type GgufChatTemplateInfo,
  type GgufLimits,
  type GgufMetadataSummary,
  type GgufRejected,
  type GgufRejection,
  type GgufReport,
  type GgufTensorInfo,
} from './types.js';

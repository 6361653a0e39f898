// The shared redactor of @secai/contracts under the names gate.ts imports (kept until gate.ts,
// edited elsewhere at the moment, imports `redactMcp` and `mcpRedactionCountsList` directly).
export { redactMcp as redact, mcpRedactionCountsList as countsList } from '@secai/contracts';

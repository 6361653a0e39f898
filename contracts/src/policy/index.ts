export * from './mcpDocument.js';
export * from './mcpAccess.js';

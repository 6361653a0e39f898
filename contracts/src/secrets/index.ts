export * from './redact.js';
export * from './mcp.js';

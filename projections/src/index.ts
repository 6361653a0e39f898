export * from './projection.js';
export * from './catalog.js';
export * from './replay.js';
export * from './serviceStatus/index.js';
export * from './eventCounts/index.js';
export * from './chain/index.js';
export * from './audit/index.js';
export * from './bundle/index.js';

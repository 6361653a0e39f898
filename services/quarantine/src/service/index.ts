export * from './config.js';
export * from './coordinator.js';
export * from './importer.js';
export * from './inbox.js';
export * from './policyBundle.js';
export * from './run.js';
export * from './service.js';
export * from './stages.js';

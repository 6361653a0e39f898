export * from './yara.js';
export * from './entropy.js';
export * from './weights.js';

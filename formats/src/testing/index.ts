// Builders of valid and hostile artifacts for tests and benchmarks, never for the runtime.
export * from './ggufWriter.js';
export * from './fixtures.js';
export * from './memorySource.js';

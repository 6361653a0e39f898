// What tests and benchmarks use to make artifacts and signatures; never part of the runtime entry.
export * from '@secai/formats/testing';
export * from './signing.js';

// What tests and benchmarks use to make artifacts and signatures; never part of the runtime entry.
export * from '@secai/formats/testing';
export * from './signing.js';
/** The judge's labelled tuning corpus. */
export { ANSWERS } from '../behavior/corpus/answers.js';
/** The held-out split (issue 11 §2): never tuned on; scored only by its regression test and the bench. */
export { HELD_OUT_ANSWERS } from '../behavior/corpus/heldOut.js';
/** The validation split (issue 11 §2): independent of the detectors, but its errors may be read and fixed. */
export { VALIDATION_ANSWERS } from '../behavior/corpus/validation.js';

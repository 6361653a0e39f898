export { deciderSpec, type DeciderThen } from './decider.js';
export type { Decider } from '../decider.js';
export {
  TEST_PKI_EPOCH,
  createOutsiderPki,
  createRogueSigner,
  createTestPki,
  type OutsiderPki,
  type TestPki,
  type TestPkiOptions,
} from './pki.js';

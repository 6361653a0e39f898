export { deciderSpec, type Decider, type DeciderThen } from './decider.js';
export { createOutsiderPki, createRogueSigner, createTestPki } from './pki.js';

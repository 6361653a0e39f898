// The one place the page takes code from the contracts package: its browser-safe entry.
// TODO(part A): `@secai/contracts/web` has not landed yet; decisionsIn comes from its node-free
// source file meanwhile (TypeBox types only). Replace with:
//   export { decisionsIn, type DecisionRecord } from '@secai/contracts/web';
export { decisionsIn, type DecisionRecord } from '../../../../contracts/src/decisionRecords.js';

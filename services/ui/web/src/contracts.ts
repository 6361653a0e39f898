// The decision-record reader of the contracts (node-free), through the browser-safe entry.
export { decisionsIn, type DecisionRecord } from '@secai/contracts/web';

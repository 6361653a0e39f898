import { BaseError } from '@secai/contracts';

export const GPU_WATCH_ERROR_CODES = [
  /** No valid policy is active: no cycle runs and no baseline is captured (fail closed). */
  'POLICY_UNAVAILABLE',
  /** The ceremony names the operator first-load captures are recorded under. */
  'OPERATOR_RESERVED',
  /** The watch is stopping: nothing new is started. */
  'WATCH_STOPPED',
] as const;
export type GpuWatchErrorCode = (typeof GPU_WATCH_ERROR_CODES)[number];

/** A coded failure of the GPU watch (expected negative outcomes are events instead). */
export class GpuWatchError extends BaseError<GpuWatchErrorCode> {}

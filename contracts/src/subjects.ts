/** Root of every domain event subject: `secai.evt.<aggregateType>.<aggregateId>`. */
export const EVENT_SUBJECT_PREFIX = 'secai.evt';
/** Root of request/reply commands: `secai.cmd.<service>.<command>`. */
export const COMMAND_SUBJECT_PREFIX = 'secai.cmd';

export function eventSubject(aggregateType: string, aggregateId: string): string {
  return `${EVENT_SUBJECT_PREFIX}.${aggregateType}.${aggregateId}`;
}

/**
 * Every event about one aggregate id, whatever its aggregate type: `secai.evt.*.<id>`. Ids that
 * name the same thing share it on purpose: a model's quarantine run (`artifact/<hex>`) and the
 * trusted model (`model/<hex>`) are both keyed by the sha256 hex of its bytes, so this subject is
 * a model's whole life, from `model.acquired` through `model.promoted` to `model.removed`.
 */
export function aggregateIdSubject(aggregateId: string): string {
  return `${EVENT_SUBJECT_PREFIX}.*.${aggregateId}`;
}

export function commandSubject(service: string, command: string): string {
  return `${COMMAND_SUBJECT_PREFIX}.${service}.${command}`;
}

/**
 * Root of advisory progress messages for long commands (hashing a large file):
 * `secai.progress.<handler>.<requestId>`. Unsigned and never stored: NATS permissions let only
 * the handler publish there and only its callers listen; the outcome that counts is an event.
 */
export const PROGRESS_SUBJECT_PREFIX = 'secai.progress';

export function progressSubject(handler: string, requestId: string): string {
  return `${PROGRESS_SUBJECT_PREFIX}.${handler}.${requestId}`;
}

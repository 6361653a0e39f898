/** Root of every domain event subject: `secai.evt.<aggregateType>.<aggregateId>`. */
export const EVENT_SUBJECT_PREFIX = 'secai.evt';
/** Root of request/reply commands: `secai.cmd.<service>.<command>`. */
export const COMMAND_SUBJECT_PREFIX = 'secai.cmd';

export function eventSubject(aggregateType: string, aggregateId: string): string {
  return `${EVENT_SUBJECT_PREFIX}.${aggregateType}.${aggregateId}`;
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

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

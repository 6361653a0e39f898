import type { ServiceName } from './services.js';

/**
 * Every durable consumer on the events stream and the one identity that owns it. NATS
 * permissions are generated from this table: only the owner may create, read, acknowledge or
 * inspect its durable; every other identity is denied each of those API subjects by name, so
 * no service can reconfigure, drain or acknowledge another's consumer (ARCHITECTURE §4).
 * A durable that is not listed here cannot be created by any service.
 */
export const DURABLES = {
  'incident-recorder-observations': 'incident-recorder',
  /** High-severity observations (attestation, integrity) on their own window, never behind a flood. */
  'incident-recorder-priority': 'incident-recorder',
  // nats-server 2.9 takes one filter subject per consumer: the priority lane is one durable per
  // aggregate (`-priority` reads attestation.*, these read integrity.* and model.*).
  'incident-recorder-priority-integrity': 'incident-recorder',
  'incident-recorder-priority-model': 'incident-recorder',
  'policy-engine-promotion': 'policy-engine',
  'quarantine-promotion-decisions': 'quarantine',
  'quarantine-policy-loaded': 'quarantine',
  'registry-promotion': 'registry',
} as const satisfies Record<string, ServiceName>;

export type DurableName = keyof typeof DURABLES;

export function durablesOf(service: string): DurableName[] {
  return (Object.keys(DURABLES) as DurableName[]).filter((d) => DURABLES[d] === service).sort();
}

export function isDurableName(name: string): name is DurableName {
  return Object.hasOwn(DURABLES, name);
}

import type { CommandType } from './commands.js';
import type { ContainmentActionName } from './events/enforcement.js';

/**
 * The incident vocabulary every package shares (the recorder's machine, its HTTP API, the CLI,
 * the containment conformance kit), so a state or an action is spelled in one place.
 */

/** An incident's lifecycle states, in order; snake_case like every machine state in the house. */
export const INCIDENT_STATES = [
  'open',
  'contained',
  'containment_failed',
  'resolved',
  'acknowledged',
] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

/** States in which an incident still needs an operator (not yet resolved). */
export const ACTIVE_INCIDENT_STATES = [
  'open',
  'contained',
  'containment_failed',
] as const satisfies readonly IncidentState[];

export function isActiveIncidentState(state: string): boolean {
  return (ACTIVE_INCIDENT_STATES as readonly string[]).includes(state);
}

/** Containment carried out by another service: every action but the recorder's own alert. */
export type RemoteContainmentAction = Exclude<ContainmentActionName, 'log_alert'>;

/** The signed command that carries out each remote containment action, at its owner. */
export const CONTAINMENT_ACTION_COMMANDS = {
  freeze_agent: 'agent.freeze',
  disable_airlock: 'airlock.disable',
  force_vault_relock: 'appliance.relock_vault',
  quarantine_model: 'registry.quarantine_model',
  revoke_identity: 'appliance.revoke_identity',
} as const satisfies Record<RemoteContainmentAction, CommandType>;

export type ContainmentCommand = (typeof CONTAINMENT_ACTION_COMMANDS)[RemoteContainmentAction];

/** The commands the incident recorder sends to contain an incident (ARCHITECTURE §5.4). */
export const CONTAINMENT_COMMANDS = Object.values(
  CONTAINMENT_ACTION_COMMANDS,
) as readonly ContainmentCommand[];

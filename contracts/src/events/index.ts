import type { Static } from '@sinclair/typebox';
import type { EventDefinition } from './define.js';
import { enforcementEvents } from './enforcement.js';
import { mcpEvents } from './mcp.js';
import { platformEvents } from './platform.js';
import { policyEvents } from './policy.js';
import { runtimeEvents } from './runtime.js';
import { supplyChainEvents } from './supplyChain.js';
import { toolEvents } from './tools.js';

/** The whole event catalogue: every type the bus may carry, with its aggregate and schema. */
export const catalogue = {
  ...platformEvents,
  ...supplyChainEvents,
  ...policyEvents,
  ...enforcementEvents,
  ...runtimeEvents,
  ...toolEvents,
  ...mcpEvents,
} as const;

export type Catalogue = typeof catalogue;
export type EventType = keyof Catalogue;
export type EventData<T extends EventType> = Static<Catalogue[T]['schema']>;

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(catalogue, type);
}

export function definitionOf(type: string): EventDefinition | undefined {
  return isEventType(type) ? catalogue[type] : undefined;
}

export { defineEvent, dataschemaOf } from './define.js';
export type { EventDefinition } from './define.js';
export * from './common.js';
export * from './platform.js';
export * from './supplyChain.js';
export * from './policy.js';
export * from './enforcement.js';
export * from './runtime.js';
export * from './tools.js';
export * from './mcp.js';

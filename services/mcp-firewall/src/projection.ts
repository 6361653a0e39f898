import type { Projection } from '@secai/projections';
import { KEY_EVENT_TYPES, evolveKeys, type KeysDocument } from './keys.js';
import { PIN_EVENT_TYPES, evolvePins, type PinsDocument } from './pinsProjection.js';
import {
  SESSION_EVENT_TYPES,
  evolveSessions,
  type SessionsDocument,
} from './sessionsProjection.js';

// One projection for everything the firewall remembers across restarts (API keys, pins, sessions
// and their taint): the projection host verifies every event of the stream once per projection,
// so one projection rather than three.

export interface FirewallDocument {
  keys: KeysDocument;
  pins: PinsDocument;
  sessions: SessionsDocument;
}

export const MCP_FIREWALL_PROJECTION = 'mcp-firewall';

/** Folds one event (as stored, or as just appended by this process) into the document. */
export function evolveFirewall(
  doc: FirewallDocument,
  event: { type: string; data: unknown; time: string },
): FirewallDocument {
  if ((KEY_EVENT_TYPES as readonly string[]).includes(event.type)) {
    const keys = evolveKeys(doc.keys, event);
    return keys === doc.keys ? doc : { ...doc, keys };
  }
  if ((PIN_EVENT_TYPES as readonly string[]).includes(event.type)) {
    const pins = evolvePins(doc.pins, event);
    return pins === doc.pins ? doc : { ...doc, pins };
  }
  const sessions = evolveSessions(doc.sessions, event);
  return sessions === doc.sessions ? doc : { ...doc, sessions };
}

export const firewallProjection: Projection<FirewallDocument> = {
  name: MCP_FIREWALL_PROJECTION,
  canHandle: [...KEY_EVENT_TYPES, ...PIN_EVENT_TYPES, ...SESSION_EVENT_TYPES],
  initialState: () => ({ keys: { keys: {} }, pins: { servers: {} }, sessions: { sessions: {} } }),
  evolve: (doc, { event }) => evolveFirewall(doc, event),
};

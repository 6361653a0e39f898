import { apiKeysProjection, type ApiKeysDocument, type Projection } from '@secai/projections';
import { PIN_EVENT_TYPES, evolvePins, type PinsDocument } from './pinsProjection.js';
import {
  SESSION_EVENT_TYPES,
  evolveSessions,
  type SessionsDocument,
} from './sessionsProjection.js';

// One projection for everything the firewall remembers across restarts (API keys, pins, sessions
// and their taint): the projection host verifies every event of the stream once per projection,
// so one projection rather than three. The API keys are the shared `api-keys` fold of
// `inference.key.*` (as the tool firewall hosts it), so every gateway agrees on the valid keys.

export interface FirewallDocument {
  keys: ApiKeysDocument;
  pins: PinsDocument;
  sessions: SessionsDocument;
}

export const MCP_FIREWALL_PROJECTION = 'mcp-firewall';

const KEY_EVENT_TYPES = apiKeysProjection.canHandle as readonly string[];

/**
 * Folds one of this firewall's own events (as stored, or as just appended by this process) into
 * the document. API keys are not its events: they come only from the stream (`firewallProjection`).
 */
export function evolveFirewall(
  doc: FirewallDocument,
  event: { type: string; data: unknown; time: string },
): FirewallDocument {
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
  initialState: () => ({
    keys: apiKeysProjection.initialState(),
    pins: { servers: {} },
    sessions: { sessions: {} },
  }),
  evolve(doc, e) {
    if (KEY_EVENT_TYPES.includes(e.event.type)) {
      const keys = apiKeysProjection.evolve(doc.keys, e);
      return keys === doc.keys ? doc : { ...doc, keys };
    }
    return evolveFirewall(doc, e.event);
  },
};

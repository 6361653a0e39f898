import type { EventData } from '@secai/contracts';
import { keyOf } from './pinsProjection.js';

// Sessions and their taint (issue 13 §3): a fold of `mcp/<session>` events. The original kept
// taint in memory and shared one empty session for all; here a session's owner and labels are
// events, so a restart (or a rebuild from the stream) gives the same labels back.

export interface TaintEntry {
  label: string;
  server: string;
  tool?: string;
  cause: 'policy' | 'untrusted_server' | 'injection';
  callId: string;
  at: string;
}

export interface SessionRecord {
  id: string;
  caller: string;
  client: { name: string; version: string };
  openedAt: string;
  closedAt: string | null;
  /** Active labels, in the order first applied (a label applied again keeps its first source). */
  taint: TaintEntry[];
  /** The last time its owner, state or taint changed (calls are not folded: see below). */
  lastAt: string;
}

export interface SessionsDocument {
  /** By `keyOf(id)`. */
  sessions: Record<string, SessionRecord>;
}

// Calls are not folded here: a fold copies the sessions map (documents are never mutated), and
// one copy per call would make every call slower as sessions accumulate. Owner, state and taint
// change rarely; the calls themselves are in the stream (`mcp.call.*`).
export const SESSION_EVENT_TYPES = [
  'mcp.session.opened',
  'mcp.session.closed',
  'mcp.taint.applied',
  'mcp.taint.cleared',
] as const;

export function sessionOf(doc: SessionsDocument, id: string): SessionRecord | undefined {
  return Object.hasOwn(doc.sessions, keyOf(id)) ? doc.sessions[keyOf(id)] : undefined;
}

/** The labels a decision is made with. */
export function activeTaint(record: SessionRecord | undefined): string[] {
  return record ? record.taint.map((t) => t.label) : [];
}

function update(
  doc: SessionsDocument,
  id: string,
  change: (r: SessionRecord) => SessionRecord,
): SessionsDocument {
  const record = sessionOf(doc, id);
  // Events of a session whose opening is not known (cut history) change nothing: fail closed
  // means such a session cannot be resumed, not that its labels are invented.
  if (!record) return doc;
  return { sessions: { ...doc.sessions, [keyOf(id)]: change(record) } };
}

export function evolveSessions(
  doc: SessionsDocument,
  event: { type: string; data: unknown; time: string },
): SessionsDocument {
  switch (event.type) {
    case 'mcp.session.opened': {
      const d = event.data as EventData<'mcp.session.opened'>;
      if (sessionOf(doc, d.session)) return doc;
      const record: SessionRecord = {
        id: d.session,
        caller: d.caller,
        client: d.client,
        openedAt: event.time,
        closedAt: null,
        taint: [],
        lastAt: event.time,
      };
      return { sessions: { ...doc.sessions, [keyOf(d.session)]: record } };
    }
    case 'mcp.session.closed': {
      const d = event.data as EventData<'mcp.session.closed'>;
      return update(doc, d.session, (r) =>
        r.closedAt ? r : { ...r, closedAt: event.time, lastAt: event.time },
      );
    }
    case 'mcp.taint.applied': {
      const d = event.data as EventData<'mcp.taint.applied'>;
      return update(doc, d.session, (r) => {
        if (r.taint.some((t) => t.label === d.label)) return r;
        const entry: TaintEntry = {
          label: d.label,
          server: d.server,
          ...(d.tool !== undefined ? { tool: d.tool } : {}),
          cause: d.cause,
          callId: d.callId,
          at: event.time,
        };
        return { ...r, taint: [...r.taint, entry], lastAt: event.time };
      });
    }
    case 'mcp.taint.cleared': {
      const d = event.data as EventData<'mcp.taint.cleared'>;
      const cleared = new Set(d.labels);
      return update(doc, d.session, (r) => ({
        ...r,
        taint: r.taint.filter((t) => !cleared.has(t.label)),
        lastAt: event.time,
      }));
    }
    default:
      return doc;
  }
}

import { randomBytes } from 'node:crypto';
import { ConcurrencyError } from '@secai/contracts';
import { McpFirewallError } from './errors.js';
import { sessionOf, activeTaint, type SessionRecord } from './sessionsProjection.js';
import type { LiveState } from './state.js';
import { label } from './text.js';

// Firewall sessions: one per client session, owned by the caller that opened it. Another caller
// is told it does not exist (404, never 403: the id is not confirmed). A session outlives its
// transport (and a restart of the service): a client that reconnects names it (`X-Secai-Session`)
// and gets its taint back. A closed session cannot be resumed.

/** What a client may call its session by: the ids this service issues. */
export const SESSION_ID = /^mcp_[A-Za-z0-9_-]{16,48}$/;

export function newSessionId(): string {
  return `mcp_${randomBytes(18).toString('base64url')}`;
}

export class Sessions {
  constructor(private readonly state: LiveState) {}

  /** Opens a new session for `caller` (recorded before it is used). */
  async open(
    caller: string,
    client: { name?: unknown; version?: unknown },
  ): Promise<SessionRecord> {
    const id = newSessionId();
    try {
      await this.state.append(
        [
          {
            type: 'mcp.session.opened',
            aggregateId: id,
            data: {
              session: id,
              caller,
              client: {
                name: typeof client.name === 'string' ? label(client.name, 128) : '<none>',
                version: typeof client.version === 'string' ? label(client.version, 64) : '<none>',
              },
            },
          },
        ],
        { expectedSequence: 0 },
      );
    } catch (err) {
      // 144 random bits: a collision means the id was taken by someone else on purpose or by a bug.
      if (err instanceof ConcurrencyError)
        throw new McpFirewallError('SESSION_UNKNOWN', 'could not open a session; retry');
      throw err;
    }
    return this.get(id, caller);
  }

  /** The caller's own open session; anyone else's, a closed one or none: `SESSION_UNKNOWN`. */
  get(id: string, caller: string): SessionRecord {
    const record = SESSION_ID.test(id) ? sessionOf(this.state.doc.sessions, id) : undefined;
    if (!record || record.caller !== caller || record.closedAt !== null)
      throw new McpFirewallError('SESSION_UNKNOWN', 'no such session');
    return record;
  }

  /** The labels decisions in this session are made with, now. */
  taint(id: string): string[] {
    return activeTaint(sessionOf(this.state.doc.sessions, id));
  }

  async close(id: string, caller: string, reason: 'client' | 'operator'): Promise<void> {
    const record = sessionOf(this.state.doc.sessions, id);
    if (!record || record.closedAt !== null) return;
    await this.state.append(
      [{ type: 'mcp.session.closed', aggregateId: id, data: { session: id, caller, reason } }],
      { expectedSequence: 'any' },
    );
  }

  /**
   * Clears `labels` (all when empty) of a session, as `operator`. Any open or closed session may
   * be cleared by an operator: the route is the operator's, not the session owner's.
   */
  async clearTaint(
    id: string,
    operator: string,
    reason: string,
    labels: readonly string[] = [],
  ): Promise<string[]> {
    const record = SESSION_ID.test(id) ? sessionOf(this.state.doc.sessions, id) : undefined;
    if (!record) throw new McpFirewallError('SESSION_UNKNOWN', 'no such session');
    const active = activeTaint(record);
    const cleared = labels.length === 0 ? active : active.filter((l) => labels.includes(l));
    if (cleared.length === 0)
      throw new McpFirewallError('NOT_TAINTED', 'the session carries none of those labels');
    await this.state.append(
      [
        {
          type: 'mcp.taint.cleared',
          aggregateId: id,
          data: { session: id, labels: cleared, operator, reason },
        },
      ],
      { expectedSequence: 'any' },
    );
    return cleared;
  }

  list(): SessionRecord[] {
    return Object.values(this.state.doc.sessions.sessions);
  }
}

import type { EventData } from '@secai/contracts';
import { apiKeysProjection, type ApiKeysDocument, type Projection } from '@secai/projections';

// The recent calls, as `GET /api/v1/calls` and `secai tool log` show them: a pure fold over the
// firewall's own `tool.call.*` events, bounded to the last `MAX_CALLS` calls.

export const MAX_CALLS = 500;

export type CallOutcomeName = 'allowed' | 'denied' | 'completed' | 'failed';

export interface CallView {
  callId: string;
  tool: string | null;
  caller: string;
  outcome: CallOutcomeName;
  /** Refusals: where and why. */
  stage: string | null;
  code: string | null;
  ruleId: string | null;
  decisionIds: string[];
  at: string;
  durationMs: number | null;
  outputBytes: number | null;
  truncated: boolean | null;
  redactions: number | null;
}

export interface CallLogDocument {
  /** Oldest first; at most `MAX_CALLS`. */
  calls: CallView[];
}

const TYPES = ['tool.call.allowed', 'tool.call.denied', 'tool.call.completed', 'tool.call.failed'];

const refs = (decisions: readonly { decisionId: string | null }[]) =>
  decisions.flatMap((d) => (d.decisionId ? [d.decisionId] : []));

export const callLogProjection: Projection<CallLogDocument> = {
  name: 'tool-calls',
  canHandle: TYPES,
  initialState: () => ({ calls: [] }),
  evolve(doc, { event }) {
    const at = event.time;
    if (event.type === 'tool.call.allowed') {
      const d = event.data as EventData<'tool.call.allowed'>;
      return push(doc, {
        callId: d.callId,
        tool: d.tool,
        caller: d.caller,
        outcome: 'allowed',
        stage: null,
        code: null,
        ruleId: null,
        decisionIds: refs(d.decisions),
        at,
        durationMs: null,
        outputBytes: null,
        truncated: null,
        redactions: null,
      });
    }
    if (event.type === 'tool.call.denied') {
      const d = event.data as EventData<'tool.call.denied'>;
      return push(doc, {
        callId: d.callId,
        tool: d.tool,
        caller: d.caller,
        outcome: 'denied',
        stage: d.stage,
        code: d.code,
        ruleId: d.ruleId,
        decisionIds: refs(d.decisions),
        at,
        durationMs: null,
        outputBytes: null,
        truncated: null,
        redactions: null,
      });
    }
    if (event.type === 'tool.call.completed') {
      const d = event.data as EventData<'tool.call.completed'>;
      const redactions = Object.values(d.redactions).reduce((a, b) => a + (b ?? 0), 0);
      return update(doc, d.callId, {
        outcome: 'completed',
        at,
        durationMs: d.durationMs,
        outputBytes: d.output.bytes,
        truncated: d.truncated,
        redactions,
      });
    }
    if (event.type === 'tool.call.failed') {
      const d = event.data as EventData<'tool.call.failed'>;
      return update(doc, d.callId, {
        outcome: 'failed',
        code: d.code,
        at,
        durationMs: d.durationMs,
      });
    }
    return doc;
  },
};

function push(doc: CallLogDocument, view: CallView): CallLogDocument {
  const calls = [...doc.calls, view];
  return { calls: calls.length > MAX_CALLS ? calls.slice(calls.length - MAX_CALLS) : calls };
}

function update(doc: CallLogDocument, callId: string, change: Partial<CallView>): CallLogDocument {
  const at = doc.calls.findIndex((c) => c.callId === callId);
  if (at < 0) return doc; // its allow fell out of the window
  const calls = [...doc.calls];
  calls[at] = { ...calls[at]!, ...change };
  return { calls };
}

/**
 * What the firewall folds from the stream, in one pass: the API keys (inference's
 * `inference.key.*`, the `api-keys` projection) and its own call log. One hosted projection
 * verifies each event once, where two would verify every event twice.
 */
export interface FirewallViewDocument {
  keys: ApiKeysDocument;
  log: CallLogDocument;
}

export const firewallViewProjection: Projection<FirewallViewDocument> = {
  name: 'tool-firewall-view',
  canHandle: [...(apiKeysProjection.canHandle as readonly string[]), ...TYPES],
  initialState: () => ({
    keys: apiKeysProjection.initialState(),
    log: callLogProjection.initialState(),
  }),
  evolve(doc, e) {
    if (e.event.type.startsWith('tool.call.')) {
      const log = callLogProjection.evolve(doc.log, e);
      return log === doc.log ? doc : { ...doc, log };
    }
    const keys = apiKeysProjection.evolve(doc.keys, e);
    return keys === doc.keys ? doc : { ...doc, keys };
  },
};

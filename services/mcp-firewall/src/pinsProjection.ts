import type { EventData } from '@secai/contracts';
import type { ToolVersion } from './toolVersion.js';

// The pins: which version of each upstream tool an operator approved, and which change or refusal
// was last recorded (so the same rug pull or the same poisoned tool is recorded once, not at every
// listing). A fold of `mcp-server/<server>` events: it survives restarts because the events do.

export interface PinnedTool {
  version: ToolVersion;
  operator: string;
  at: string;
}

export interface ToolRecord {
  pinned: PinnedTool | null;
  /** The observed digest of the last `mcp.tool.changed`, while it is not approved. */
  changedTo: string | null;
  /** `<digest> <codes>` of the last `mcp.tool.refused`. */
  refusal: string | null;
}

export interface PinsDocument {
  /** By `keyOf(server)`, then by `keyOf(tool)`: upstream names are never used as bare keys. */
  servers: Record<string, Record<string, ToolRecord>>;
}

/** A map key for a name an upstream or a policy chose (`__proto__` is a valid tool name). */
export function keyOf(name: string): string {
  return `#${name}`;
}

export function refusalKey(digest: string, codes: readonly string[]): string {
  return `${digest} ${[...codes].sort().join(',')}`;
}

export function toolRecordOf(doc: PinsDocument, server: string, tool: string): ToolRecord {
  const tools = Object.hasOwn(doc.servers, keyOf(server)) ? doc.servers[keyOf(server)]! : {};
  return Object.hasOwn(tools, keyOf(tool))
    ? tools[keyOf(tool)]!
    : { pinned: null, changedTo: null, refusal: null };
}

function withRecord(
  doc: PinsDocument,
  server: string,
  tool: string,
  change: (r: ToolRecord) => ToolRecord,
): PinsDocument {
  const s = keyOf(server);
  const tools = Object.hasOwn(doc.servers, s) ? doc.servers[s]! : {};
  return {
    servers: {
      ...doc.servers,
      [s]: { ...tools, [keyOf(tool)]: change(toolRecordOf(doc, server, tool)) },
    },
  };
}

export const PIN_EVENT_TYPES = ['mcp.tool.pinned', 'mcp.tool.changed', 'mcp.tool.refused'] as const;

export function evolvePins(
  doc: PinsDocument,
  event: { type: string; data: unknown; time: string },
): PinsDocument {
  switch (event.type) {
    case 'mcp.tool.pinned': {
      const d = event.data as EventData<'mcp.tool.pinned'>;
      return withRecord(doc, d.server, d.tool, () => ({
        pinned: { version: d.version, operator: d.operator, at: event.time },
        changedTo: null,
        refusal: null,
      }));
    }
    case 'mcp.tool.changed': {
      const d = event.data as EventData<'mcp.tool.changed'>;
      return withRecord(doc, d.server, d.tool, (r) => ({ ...r, changedTo: d.observed.digest }));
    }
    case 'mcp.tool.refused': {
      const d = event.data as EventData<'mcp.tool.refused'>;
      const key = refusalKey(
        d.version.digest,
        d.reasons.map((r) => r.code),
      );
      return withRecord(doc, d.server, d.tool, (r) => ({ ...r, refusal: key }));
    }
    default:
      return doc;
  }
}

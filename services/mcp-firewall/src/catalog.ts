import { serverAggregateId, type DraftOf } from './drafts.js';
import { TOOL_NAME, nameSkeleton } from './names.js';
import { refusalKey, toolRecordOf, type PinsDocument } from './pinsProjection.js';
import { scanTool, textsOf, type Finding } from './scan/poison.js';
import { label } from './text.js';
import { toolViewOf, versionOf, type ToolView, type ToolVersion } from './toolVersion.js';

// Which upstream tools a client may see and call (pure). A tool is listed only when its name can
// be decided by policy, its definition is clean (the poisoning scan), it shadows no other tool,
// and the exact version observed is the one an operator pinned. Everything else is refused, and
// the first time a given version is refused (or a pinned tool changes) that is an event.

export interface ObservedServer {
  server: string;
  /** The upstream's `tools/list` answer, untrusted. */
  tools: readonly unknown[];
}

export type ToolState =
  | { state: 'listed'; version: ToolVersion }
  | { state: 'changed'; version: ToolVersion; pinned: ToolVersion }
  | { state: 'refused'; version: ToolVersion | null; reasons: Finding[] };

export interface CatalogTool {
  server: string;
  /** As the upstream named it (escaped with `label` wherever it is shown). */
  name: string;
  view: ToolView | null;
  state: ToolState;
}

export interface Catalog {
  tools: CatalogTool[];
  /** Listed tools by name: each name leads to one server. */
  listed: Map<string, CatalogTool & { view: ToolView }>;
}

export type CatalogEvent = DraftOf<'mcp.tool.changed'> | DraftOf<'mcp.tool.refused'>;

/** An empty version for a definition that could not be read as a tool (recorded by its digest). */
function versionOfRaw(raw: unknown, digest: (s: string) => string): ToolVersion {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? 'null';
  } catch {
    text = 'unserialisable';
  }
  const d = digest(text);
  return {
    digest: d,
    description: { text: '', length: 0, digest: d },
    inputSchemaDigest: d,
    outputSchemaDigest: null,
  };
}

interface Candidate {
  server: string;
  name: string;
  view: ToolView | null;
  version: ToolVersion | null;
  problems: Finding[];
}

function candidatesOf(
  observed: readonly ObservedServer[],
  digest: (s: string) => string,
): Candidate[] {
  const out: Candidate[] = [];
  for (const { server, tools } of observed) {
    const counts = new Map<string, number>();
    for (const raw of tools) {
      const name =
        typeof (raw as { name?: unknown })?.name === 'string' ? (raw as { name: string }).name : '';
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    for (const raw of tools) {
      const name =
        typeof (raw as { name?: unknown })?.name === 'string' ? (raw as { name: string }).name : '';
      const view = toolViewOf(raw);
      const problems: Finding[] = [];
      if (view === null) {
        const texts = textsOf(raw, 'tool');
        problems.push(
          texts === 'too_deep' || texts === 'too_large'
            ? { code: `schema_${texts}`, detail: 'the definition is too deep or too large to read' }
            : { code: 'malformed', detail: 'not a tool: no string name or no object input schema' },
        );
      } else {
        if (!TOOL_NAME.test(name))
          problems.push({
            code: 'invalid_name',
            detail: 'the name is not 1-128 characters of A-Z a-z 0-9 _ . : -',
          });
        if ((counts.get(name) ?? 0) > 1)
          problems.push({ code: 'duplicate', detail: 'the server lists this name more than once' });
        problems.push(...scanTool(view as unknown as Record<string, unknown>));
      }
      out.push({
        server,
        name: name === '' ? '<unnamed>' : name,
        view,
        version: view ? versionOf(view) : versionOfRaw(raw, digest),
        problems,
      });
    }
  }
  return out;
}

/**
 * The catalogue for what the upstreams answered now, and the events to record: a change of a
 * pinned tool, or a refusal, each once per observed version (the pins document remembers the last).
 */
export function buildCatalog(
  observed: readonly ObservedServer[],
  pins: PinsDocument,
  digest: (s: string) => string,
): { catalog: Catalog; events: CatalogEvent[] } {
  const candidates = candidatesOf(observed, digest);
  const current = (c: Candidate) =>
    c.version !== null &&
    toolRecordOf(pins, c.server, c.name).pinned?.version.digest === c.version.digest;

  // Shadowing among the clean tools: a skeleton shared by two of them leads to one only if exactly
  // one of them is the approved current version; otherwise none of them is listed.
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) {
    if (c.problems.length > 0) continue;
    const key = nameSkeleton(c.name);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const winners = group.filter(current);
    for (const c of group) {
      if (winners.length === 1 && winners[0] === c) continue;
      const others = group
        .filter((o) => o !== c)
        .map((o) => `${label(o.name, 64)} of ${o.server}`)
        .join(', ');
      c.problems.push({ code: 'shadowing', detail: `looks the same as ${others}`.slice(0, 256) });
    }
  }

  const tools: CatalogTool[] = [];
  const listed = new Map<string, CatalogTool & { view: ToolView }>();
  const events: CatalogEvent[] = [];
  for (const c of candidates) {
    const record = toolRecordOf(pins, c.server, c.name);
    const version = c.version!;
    let state: ToolState;
    if (c.problems.length > 0) state = { state: 'refused', version, reasons: c.problems };
    else if (record.pinned === null)
      state = {
        state: 'refused',
        version,
        reasons: [{ code: 'unpinned', detail: 'not approved yet: secai mcp approve SERVER TOOL' }],
      };
    else if (record.pinned.version.digest !== version.digest)
      state = { state: 'changed', version, pinned: record.pinned.version };
    else state = { state: 'listed', version };

    const tool: CatalogTool = { server: c.server, name: c.name, view: c.view, state };
    tools.push(tool);
    if (state.state === 'listed') listed.set(c.name, { ...tool, view: c.view! });
    // A pinned tool that changed is recorded as changed (both versions) even when the new version
    // is also refused for what it says: the rug pull is the event an operator looks for.
    const pinned = TOOL_NAME.test(c.name) ? record.pinned : null;
    if (
      pinned !== null &&
      pinned.version.digest !== version.digest &&
      record.changedTo !== version.digest
    )
      events.push({
        type: 'mcp.tool.changed',
        aggregateId: serverAggregateId(c.server),
        data: { server: c.server, tool: c.name, pinned: pinned.version, observed: version },
      });
    if (state.state === 'refused') {
      const toolLabel = label(c.name, 256);
      const reasons = state.reasons.slice(0, 16).map((r) => ({
        code: r.code,
        detail: r.detail.slice(0, 256),
      }));
      const key = refusalKey(
        version.digest,
        reasons.map((r) => r.code),
      );
      if (toolRecordOf(pins, c.server, toolLabel).refusal !== key)
        events.push({
          type: 'mcp.tool.refused',
          aggregateId: serverAggregateId(c.server),
          data: { server: c.server, tool: toolLabel, version, reasons },
        });
    }
  }
  return { catalog: { tools, listed }, events };
}

import type { defineEvent } from './define.js';

// The MCP firewall: calls decided per MCP session (aggregate `mcp/<session>`), taint applied and
// cleared, and upstream tools pinned, changed and refused (`mcp-server/<server>`).
// Filled in by the mcp-firewall work (issue 13 §3); every type needs its fixture in
// contracts/test/__fixtures__/events/ and its row in the README's subject table.

export const mcpEvents = {} as const satisfies Record<string, ReturnType<typeof defineEvent>>;

/** Who may emit each MCP event (merged into `AUTHORITY`). */
export const mcpAuthority = {} as const satisfies Record<
  keyof typeof mcpEvents,
  readonly ['mcp-firewall']
>;

import type { defineEvent } from './define.js';

// The tool firewall (aggregate `toolcall/<callId>`): every tool call it decided and carried out.
// Arguments appear as digests and redacted summaries, never file contents.
// Filled in by the tool-firewall work (issue 13 §2); every type needs its fixture in
// contracts/test/__fixtures__/events/ and its row in the README's subject table.

export const toolEvents = {} as const satisfies Record<string, ReturnType<typeof defineEvent>>;

/** Who may emit each tool event (merged into `AUTHORITY`). */
export const toolAuthority = {} as const satisfies Record<
  keyof typeof toolEvents,
  readonly ['tool-firewall']
>;

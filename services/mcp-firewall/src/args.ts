import {
  MCP_INLINE_VALUE_MAX_BYTES,
  canonicalJson,
  isMcpPathArgument,
  redactMcp,
  type McpRedactionPattern,
} from '@secai/contracts';
import { bounded, digestOf } from './text.js';

// A call's arguments as they leave the firewall: never raw. The policy engine gets each one's
// size, digest and (when short, and the policy does not mark it `redact`) its redacted value, so
// global rules can still see a URL carrying data; events get the digest and a short preview.

/** Most arguments one call may carry (`McpCallInput.arguments`). */
export const MAX_ARGUMENTS = 128;
/** Longest argument name. */
export const MAX_ARGUMENT_NAME = 256;
/**
 * Inline values in one decision request, in JSON characters, in argument order: what the engine
 * keeps of a request (`MCP_VALUE_BUDGET`, so the recorded input stays under its 16 KiB). Past it
 * an argument travels as size and digest only (a rule that must read it then denies).
 */
export const INLINE_BUDGET_BYTES = 8192;
/** Characters of a redacted value kept as an event's preview. */
export const PREVIEW_CHARS = 96;

export interface DecisionArgument {
  name: string;
  bytes: number;
  digest: string;
  value?: string;
}

export interface ArgumentSummary {
  name: string;
  bytes: number;
  digest: string;
  preview?: string;
}

export type ArgumentsProblem = { code: 'ARGUMENTS_INVALID'; message: string };

/** The text a rule reads for a value: a string as it is, anything else as canonical JSON. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : canonicalJson(value);
}

/**
 * Both views of a call's arguments, or why they cannot be decided (too many, a name too long,
 * not an object). `redacted(name)` says the policy marks that argument `redact: true`.
 */
export function describeArguments(
  args: unknown,
  redacted: (name: string) => boolean,
  categories: readonly McpRedactionPattern[],
): { decision: DecisionArgument[]; summary: ArgumentSummary[] } | ArgumentsProblem {
  if (args === undefined || args === null) return { decision: [], summary: [] };
  if (typeof args !== 'object' || Array.isArray(args))
    return { code: 'ARGUMENTS_INVALID', message: 'arguments must be an object' };
  const entries = Object.entries(args as Record<string, unknown>);
  if (entries.length > MAX_ARGUMENTS)
    return {
      code: 'ARGUMENTS_INVALID',
      message: `${entries.length} arguments (at most ${MAX_ARGUMENTS})`,
    };
  let budget = INLINE_BUDGET_BYTES;
  const decision: DecisionArgument[] = [];
  const summary: ArgumentSummary[] = [];
  for (const [name, value] of entries) {
    if (name.length === 0 || name.length > MAX_ARGUMENT_NAME)
      return {
        code: 'ARGUMENTS_INVALID',
        message: `an argument name is empty or longer than ${MAX_ARGUMENT_NAME} characters`,
      };
    let text: string;
    try {
      text = textOf(value);
    } catch {
      return { code: 'ARGUMENTS_INVALID', message: `argument ${name} is not JSON` };
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    const digest = digestOf(canonicalJson(value));
    const hidden = redacted(name);
    const item: DecisionArgument = { name, bytes, digest };
    const entry: ArgumentSummary = { name, bytes, digest };
    if (!hidden) {
      // Only the head is redacted for the preview of a long value: the preview never reaches the cut.
      const clean = redactMcp(
        bytes <= MCP_INLINE_VALUE_MAX_BYTES ? text : text.slice(0, 4096),
        categories,
      ).text;
      const cost = JSON.stringify(clean).length;
      // A path the redaction changed is not the path the upstream opens (`/ok/pwd=x/../../etc`
      // redacts to `/ok/pwd=[REDACTED:password]`): it is sent as size and digest only, so a
      // path rule denies rather than judge a path that will not be used.
      const pathChanged = clean !== text && isMcpPathArgument(name);
      if (
        !pathChanged &&
        bytes <= MCP_INLINE_VALUE_MAX_BYTES &&
        clean.length <= MCP_INLINE_VALUE_MAX_BYTES &&
        cost <= budget
      ) {
        item.value = clean;
        budget -= cost;
      }
      entry.preview = bounded(clean.slice(0, PREVIEW_CHARS * 4), PREVIEW_CHARS);
    }
    decision.push(item);
    summary.push(entry);
  }
  return { decision, summary };
}

import { canonicalJson, sha256Hex, type ToolArgumentsData } from '@secai/contracts';
import { redact } from './redact.js';

// How a call's arguments appear in events and logs: a digest of the whole, and per argument its
// kind, size and digest. Only paths (redacted of secrets), numbers and booleans show a value: a
// file's content, a query or any other string never does. Pure.

// eslint-disable-next-line no-control-regex -- control characters are what it finds
const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f]*$/u;
const MAX_VALUE = 512;

const digestOf = (text: string) => `sha256:${sha256Hex(text)}`;

type Kind = 'path' | 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

function kindOf(value: unknown, isPath: boolean): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return isPath ? 'path' : 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'object';
}

/** The text an argument is measured and digested as: a string itself, anything else its JSON. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : canonicalJson(value);
}

/** A value fit to show: printable, short, redacted. */
function shown(value: unknown, kind: Kind): string | undefined {
  if (kind === 'number' || kind === 'boolean') return String(value);
  if (kind !== 'path') return undefined;
  const text = redact(value as string).text;
  return PRINTABLE.test(text) && Buffer.byteLength(text) <= MAX_VALUE ? text : undefined;
}

const printableName = (name: string) =>
  PRINTABLE.test(name) && name.length > 0 && name.length <= 256;

/**
 * The summary of arguments that passed the tree check (`args`), or of arguments that could not
 * be read (`args` null: only the digest and size of what was sent, `raw`).
 */
export function summarizeArguments(
  args: Record<string, unknown> | null,
  pathNames: ReadonlySet<string>,
  raw?: string,
): ToolArgumentsData {
  if (args === null) {
    const text = raw ?? '';
    return { digest: digestOf(text), bytes: Buffer.byteLength(text), summary: null };
  }
  const whole = canonicalJson(args);
  const summary = Object.entries(args)
    .filter(([name]) => printableName(name))
    .slice(0, 128)
    .map(([name, value]) => {
      const kind = kindOf(value, pathNames.has(name));
      const text = textOf(value);
      const value_ = shown(value, kind);
      return {
        name,
        kind,
        bytes: Buffer.byteLength(text),
        digest: digestOf(text),
        ...(value_ !== undefined ? { value: value_ } : {}),
      };
    });
  return { digest: digestOf(whole), bytes: Buffer.byteLength(whole), summary };
}

/** The digest and length of a text (an output), never the text. */
export function textDigest(text: string): { digest: string; bytes: number } {
  return { digest: digestOf(text), bytes: Buffer.byteLength(text) };
}

import { Type, type Static } from '@sinclair/typebox';
import { pathOf, readUpTo, textOf } from './io.js';
import { PathArg, closed } from './schemas.js';
import type { ToolAdapter } from './types.js';

const Args = Type.Object(
  { path: PathArg('the file to read, e.g. /vault/user_docs/notes.txt') },
  closed,
);

/**
 * Bytes read beyond what may leave, so that a secret straddling the cut is still seen whole by
 * the redactor before the output is cut.
 */
export const REDACTION_MARGIN = 64 * 1024;

/** `filesystem.read`: a file's text, at most the output limit (and the redaction margin) read. */
export const readAdapter: ToolAdapter<Static<typeof Args>> = {
  name: 'filesystem.read',
  description: 'Read a text file in the workspace (size-limited; secrets are redacted).',
  arguments: Args,
  paths: [{ name: 'path', access: 'read', target: 'file' }],
  async run(_args, ctx) {
    const file = pathOf(ctx.paths, 'path');
    const limit = ctx.limits.maxOutputBytes + REDACTION_MARGIN;
    const bytes = await readUpTo(file.handle, limit);
    const size = Math.max(file.stat.size, bytes.length);
    return { value: textOf(bytes), producedBytes: size, truncated: size > bytes.length };
  },
};

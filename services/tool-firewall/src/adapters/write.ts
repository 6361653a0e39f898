import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { Type, type Static } from '@sinclair/typebox';
import { ToolFirewallError } from '../errors.js';
import { fdPath, lstatIn } from '../workspace/resolve.js';
import { pathOf } from './io.js';
import { PathArg, closed } from './schemas.js';
import type { ToolAdapter } from './types.js';

const Args = Type.Object(
  {
    path: PathArg('the file to write, e.g. /vault/outputs/summary.md'),
    content: Type.String({ maxLength: 1024 * 1024, description: 'the whole new content (text)' }),
  },
  closed,
);

const CREATE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * `filesystem.write`: replaces a file atomically in its checked directory. The new content goes
 * to a temporary file created there (`O_EXCL`, never through a link), is flushed, and is renamed
 * over the name; then the directory is flushed. Every step goes through the directory's
 * descriptor, so a directory swapped after the check is not where anything is written. A link
 * at the name is never replaced (checked when the path was resolved and again before the rename).
 */
export const writeAdapter: ToolAdapter<Static<typeof Args>> = {
  name: 'filesystem.write',
  description:
    'Write a text file in the writable workspace (atomic replace; never through a link).',
  arguments: Args,
  paths: [{ name: 'path', access: 'write', target: 'new-file' }],
  async run(args, ctx) {
    const target = pathOf(ctx.paths, 'path');
    const name = target.name!;
    const bytes = Buffer.from(args.content, 'utf8');
    if (bytes.length > ctx.limits.maxWriteBytes)
      throw new ToolFirewallError(
        'FILE_TOO_LARGE',
        `content is ${bytes.length} bytes; filesystem.write writes at most ${ctx.limits.maxWriteBytes}`,
      );
    const temp = `.${name.slice(0, 200)}.${randomBytes(6).toString('hex')}.secai-tmp`;
    const tempPath = fdPath(target.handle, temp) as string;
    const file = await open(tempPath, CREATE_FLAGS, 0o640);
    let renamed = false;
    try {
      await file.writeFile(bytes);
      await file.sync();
      await file.close();
      const now = await lstatIn(target.handle, name);
      if (now?.isSymbolicLink())
        throw new ToolFirewallError(
          'PATH_ESCAPE',
          `${target.logical} became a symbolic link; not replaced`,
        );
      if (now && !now.isFile())
        throw new ToolFirewallError(
          'PATH_KIND',
          `${target.logical} became something other than a file`,
        );
      await rename(tempPath, fdPath(target.handle, name));
      renamed = true;
      await target.handle.sync();
    } finally {
      await file.close().catch(() => undefined);
      if (!renamed) await unlink(tempPath).catch(() => undefined);
    }
    return {
      value: {
        path: target.logical,
        bytes: bytes.length,
        sha256: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      },
      truncated: false,
    };
  },
};

import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Type, type Static } from '@sinclair/typebox';
import { fdPath, lstatIn } from '../workspace/resolve.js';
import { pathOf } from './io.js';
import { PathArg, closed } from './schemas.js';
import type { ToolAdapter } from './types.js';

const Args = Type.Object({ path: PathArg('the directory to list') }, closed);

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

export function entryType(d: Dirent<Buffer> | Dirent): EntryType {
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'directory';
  return 'other';
}

/**
 * `filesystem.list`: the entries of a directory, read through its checked descriptor. Links are
 * listed as links, never followed; file sizes come from `lstat` through the same descriptor.
 */
export const listAdapter: ToolAdapter<Static<typeof Args>> = {
  name: 'filesystem.list',
  description: 'List a directory in the workspace (names, types, sizes; links are not followed).',
  arguments: Args,
  paths: [{ name: 'path', access: 'read', target: 'directory' }],
  async run(_args, ctx) {
    const dir = pathOf(ctx.paths, 'path');
    const dirents = await readdir(fdPath(dir.handle), { withFileTypes: true, encoding: 'buffer' });
    const sorted = dirents.sort((a, b) => Buffer.compare(a.name, b.name));
    const shown = sorted.slice(0, ctx.limits.listMaxEntries);
    const entries = [];
    for (const d of shown) {
      const type = entryType(d);
      const stat = type === 'file' ? await lstatIn(dir.handle, d.name) : null;
      entries.push({
        name: d.name.toString('utf8'),
        type,
        ...(stat ? { bytes: stat.size } : {}),
      });
    }
    return {
      value: { path: dir.logical, entries, total: dirents.length },
      truncated: dirents.length > shown.length,
    };
  },
};

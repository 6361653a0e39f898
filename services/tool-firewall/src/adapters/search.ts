import { constants } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { Type, type Static } from '@sinclair/typebox';
import { fdPath } from '../workspace/resolve.js';
import { pathOf, readUpTo, textOf } from './io.js';
import { PathArg, closed } from './schemas.js';
import type { AdapterLimits, ToolAdapter } from './types.js';

const Args = Type.Object(
  {
    path: PathArg('the directory to search in, e.g. /vault/user_docs'),
    query: Type.String({
      minLength: 1,
      maxLength: 256,
      pattern: '^[^\\x00-\\x1f\\x7f]+$',
      description: 'the text to find (plain text, not a pattern)',
    }),
    case_sensitive: Type.Optional(Type.Boolean({ description: 'default false' })),
  },
  closed,
);

/** Directories below the starting one that are entered at most. */
export const SEARCH_MAX_DEPTH = 16;
/** Characters of a matching line that are returned. */
const LINE_CHARS = 200;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const DIR_FLAGS = FILE_FLAGS | constants.O_DIRECTORY;

interface Match {
  path: string;
  line: number;
  text: string;
}

interface Walk {
  limits: AdapterLimits;
  needle: string;
  caseSensitive: boolean;
  matches: Match[];
  filesScanned: number;
  filesSkipped: number;
  bytesScanned: number;
  truncated: boolean;
}

const full = (w: Walk) =>
  w.matches.length >= w.limits.searchMaxMatches ||
  w.filesScanned >= w.limits.searchMaxFiles ||
  w.bytesScanned >= w.limits.searchMaxBytes;

function scan(w: Walk, logical: string, text: string): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const hay = w.caseSensitive ? line : line.toLowerCase();
    if (!hay.includes(w.needle)) continue;
    if (w.matches.length >= w.limits.searchMaxMatches) {
      w.truncated = true;
      return;
    }
    w.matches.push({ path: logical, line: i + 1, text: line.slice(0, LINE_CHARS) });
  }
}

/** One regular file, opened through its directory's descriptor without following a link. */
async function scanFile(w: Walk, dir: FileHandle, name: Buffer, logical: string): Promise<void> {
  let file: FileHandle;
  try {
    file = await open(fdPath(dir, name), FILE_FLAGS);
  } catch {
    w.filesSkipped++; // a link swapped in, or gone: never followed
    return;
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile() || stat.nlink > 1 || stat.size > w.limits.searchMaxFileBytes) {
      w.filesSkipped++;
      return;
    }
    const budget = Math.min(stat.size, w.limits.searchMaxBytes - w.bytesScanned);
    const bytes = await readUpTo(file, budget);
    w.filesScanned++;
    w.bytesScanned += bytes.length;
    if (bytes.length < stat.size) w.truncated = true;
    if (bytes.subarray(0, 8192).includes(0)) return; // binary
    scan(w, logical, textOf(bytes));
  } finally {
    await file.close();
  }
}

/** A directory held open by `dir`: its files, then its subdirectories, depth first. */
async function walk(w: Walk, dir: FileHandle, logical: string, depth: number): Promise<void> {
  const entries = await readdir(fdPath(dir), { withFileTypes: true, encoding: 'buffer' });
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  const child = (name: Buffer) => `${logical}/${name.toString('utf8')}`;
  for (const e of entries) {
    if (full(w)) return void (w.truncated = true);
    if (e.isFile()) await scanFile(w, dir, e.name, child(e.name));
    else if (!e.isDirectory()) w.filesSkipped++; // links and devices are not followed
  }
  if (depth >= SEARCH_MAX_DEPTH) return;
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    if (full(w)) return void (w.truncated = true);
    let sub: FileHandle;
    try {
      sub = await open(fdPath(dir, e.name), DIR_FLAGS);
    } catch {
      w.filesSkipped++;
      continue;
    }
    try {
      await walk(w, sub, child(e.name), depth + 1);
    } finally {
      await sub.close();
    }
  }
}

/**
 * `filesystem.search`: plain-text search under a checked directory. Entries are opened through
 * their directory's descriptor without following links (a link is skipped, never followed), and
 * the walk is bounded in files, bytes, matches, depth and one file's size.
 */
export const searchAdapter: ToolAdapter<Static<typeof Args>> = {
  name: 'filesystem.search',
  description:
    'Search text in the files under a workspace directory (bounded; links are not followed).',
  arguments: Args,
  paths: [{ name: 'path', access: 'read', target: 'directory' }],
  async run(args, ctx) {
    const dir = pathOf(ctx.paths, 'path');
    const caseSensitive = args.case_sensitive === true;
    const w: Walk = {
      limits: ctx.limits,
      needle: caseSensitive ? args.query : args.query.toLowerCase(),
      caseSensitive,
      matches: [],
      filesScanned: 0,
      filesSkipped: 0,
      bytesScanned: 0,
      truncated: false,
    };
    await walk(w, dir.handle, dir.logical, 0);
    return {
      value: {
        path: dir.logical,
        matches: w.matches,
        filesScanned: w.filesScanned,
        filesSkipped: w.filesSkipped,
        bytesScanned: w.bytesScanned,
      },
      truncated: w.truncated,
    };
  },
};

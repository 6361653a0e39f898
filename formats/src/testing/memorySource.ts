// A directory held in memory, as a DirectorySource: for tests that run the diffusers reader
// without a file system. Parents of every path are directories; a link cannot be opened (ELOOP),
// a missing path fails with ENOENT, as the file-backed source does.
import { bytesSource, type DirectorySource, type EntryFacts, type FileSource } from '../source.js';

export type MemoryEntry =
  | { readonly kind: 'directory' }
  | { readonly kind: 'file'; readonly bytes: Uint8Array; readonly links?: number }
  | { readonly kind: 'symlink' }
  | { readonly kind: 'other' };

const encoder = new TextEncoder();

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

function fsError(code: string, rel: string): Error {
  return Object.assign(new Error(`${code}: ${rel}`), { code });
}

/** `entries` maps paths relative to the root ('unet/config.json') to what they are. */
export function memoryDirectory(entries: Readonly<Record<string, MemoryEntry>>): DirectorySource {
  const all = new Map<string, MemoryEntry>([['', { kind: 'directory' }]]);
  for (const [rel, entry] of Object.entries(entries)) {
    all.set(rel, entry);
    for (let p = parentOf(rel); p !== '' && !all.has(p); p = parentOf(p)) {
      all.set(p, { kind: 'directory' });
    }
  }
  const entry = (rel: string): MemoryEntry => {
    const found = all.get(rel);
    if (found === undefined) throw fsError('ENOENT', rel);
    return found;
  };
  const facts = (e: MemoryEntry): EntryFacts =>
    e.kind === 'file'
      ? { kind: 'file', size: e.bytes.length, links: e.links ?? 1 }
      : { kind: e.kind, size: 0, links: 1 };
  return {
    stat: (rel) => Promise.resolve().then(() => facts(entry(rel))),
    list: (rel) =>
      Promise.resolve().then(() => {
        if (entry(rel).kind !== 'directory') throw fsError('ENOTDIR', rel);
        return [...all.keys()]
          .filter((p) => p !== '' && parentOf(p) === rel)
          .map((p) => encoder.encode(p.slice(p.lastIndexOf('/') + 1)));
      }),
    open: (rel) =>
      Promise.resolve().then((): FileSource => {
        const e = entry(rel);
        if (e.kind === 'symlink') throw fsError('ELOOP', rel);
        if (e.kind === 'file') return { ...bytesSource(e.bytes), links: e.links ?? 1 };
        const notReadable = () => Promise.reject(fsError('EISDIR', rel));
        return {
          ...facts(e),
          read: notReadable,
          unchanged: () => Promise.resolve(true),
          close: () => Promise.resolve(),
        };
      }),
  };
}

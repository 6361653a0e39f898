import { lstat, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bytesSource,
  detectPolyglotFile,
  detectPolyglotSource,
  inspectDiffusersDirectory,
  inspectDiffusersSource,
  inspectGguf,
  inspectGgufSource,
  inspectSafetensors,
  inspectSafetensorsSource,
  type ByteSource,
  type DiffusersInspection,
} from '../src/index.js';
import {
  buildTinyLlamaGguf,
  buildTorchZip,
  GGUF_VARIANT_REJECTIONS,
  memoryDirectory,
  PICKLES,
  safetensorsVariants,
  safetensorsZipPolyglot,
  seededBytes,
  writeDiffusersDir,
  type DiffusersVariant,
  type GgufVariant,
  type MemoryEntry,
} from '../src/testing/index.js';

// Issue 11 §4: the readers need nothing but a byte source. Each one, run over the bytes in memory,
// must give exactly the answer it gives over the same bytes written to a file: so the file-backed
// source adds the file checks (regular, one link, unchanged) and nothing the parsers depend on.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-bytesource-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileNo = 0;
async function onDisk(bytes: Uint8Array): Promise<string> {
  const path = join(dir, `f${(fileNo += 1)}`);
  await writeFile(path, bytes);
  return path;
}

/** A source over `bytes` that remembers every read, to check the reads' windows. */
function recorded(bytes: Uint8Array): ByteSource & { reads: [number, number][] } {
  const inner = bytesSource(bytes);
  const reads: [number, number][] = [];
  return {
    size: inner.size,
    reads,
    read: (offset, length) => {
      reads.push([offset, length]);
      return inner.read(offset, length);
    },
    unchanged: () => inner.unchanged(),
  };
}

const ggufCases: [string, Uint8Array][] = [
  'valid' as GgufVariant,
  ...(Object.keys(GGUF_VARIANT_REJECTIONS) as GgufVariant[]),
].map((variant) => [variant, buildTinyLlamaGguf({ variant }).buffer]);

describe('GGUF over bytes in memory', () => {
  it.each(ggufCases)('%s: the same report as from the file', async (_, bytes) => {
    const fromFile = await inspectGguf(await onDisk(bytes));
    expect(await inspectGgufSource(bytesSource(bytes))).toEqual(fromFile);
  });

  it('covers accepted and rejected files, and a trailer appended to a valid one', async () => {
    const valid = ggufCases[0]![1];
    const trailer = new Uint8Array([...valid, ...seededBytes(4096, 5)]);
    const fromFile = await inspectGguf(await onDisk(trailer));
    expect(fromFile).toMatchObject({ ok: false, reason: 'trailing_data' });
    expect(await inspectGgufSource(bytesSource(trailer))).toEqual(fromFile);
    expect((await inspectGgufSource(bytesSource(valid))).ok).toBe(true);
    expect(ggufCases.length).toBeGreaterThan(20);
  });
});

const safetensorsCases = Object.entries(safetensorsVariants()).map(
  ([name, v]) => [name, v.bytes] as [string, Uint8Array],
);

describe('safetensors over bytes in memory', () => {
  it.each(safetensorsCases)('%s: the same inspection as from the file', async (_, bytes) => {
    const fromFile = await inspectSafetensors(await onDisk(bytes));
    expect(await inspectSafetensorsSource(bytesSource(bytes))).toEqual(fromFile);
  });

  it('reads only the length prefix and the header, at explicit offsets', async () => {
    const bytes = safetensorsVariants().valid!.bytes;
    const source = recorded(bytes);
    const r = await inspectSafetensorsSource(source);
    if (!r.ok) throw new Error(r.detail);
    expect(source.reads).toEqual([
      [0, 8],
      [8, r.headerLength],
    ]);
  });
});

const polyglotCases: [string, Uint8Array][] = [
  ['safetensors', safetensorsVariants().valid!.bytes],
  ['gguf', ggufCases[0]![1]],
  ['torch zip', buildTorchZip()],
  ['safetensors with a zip tail', safetensorsZipPolyglot()],
  ['pickle', PICKLES.osSystemStackGlobal],
  ['random 3 MiB', seededBytes(3 * 1024 * 1024, 9)],
];

describe('polyglot detection over bytes in memory', () => {
  it.each(polyglotCases)('%s: the same result as from the file', async (_, bytes) => {
    const fromFile = await detectPolyglotFile(await onDisk(bytes));
    expect(await detectPolyglotSource(bytesSource(bytes))).toEqual(fromFile);
  });

  it('finds the second container in memory as from the file', async () => {
    const r = await detectPolyglotSource(bytesSource(safetensorsZipPolyglot()));
    expect(r).toMatchObject({ polyglot: true, primary: 'safetensors' });
  });
});

/** The directory at `root` as a memory directory: kinds, link counts and file bytes. */
async function snapshot(root: string, rel = ''): Promise<Record<string, MemoryEntry>> {
  const out: Record<string, MemoryEntry> = {};
  for (const name of await readdir(join(root, rel))) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const st = await lstat(join(root, childRel));
    if (st.isSymbolicLink()) out[childRel] = { kind: 'symlink' };
    else if (st.isDirectory()) {
      out[childRel] = { kind: 'directory' };
      Object.assign(out, await snapshot(root, childRel));
    } else if (st.isFile()) {
      out[childRel] = {
        kind: 'file',
        bytes: await readFile(join(root, childRel)),
        links: st.nlink,
      };
    } else out[childRel] = { kind: 'other' };
  }
  return out;
}

/** An inspection with its findings in a fixed order (a directory lists in no set order). */
function settled(r: DiffusersInspection) {
  const key = (f: { path: string; code: string }) => `${f.path}\u0000${f.code}`;
  return { ...r, findings: [...r.findings].sort((a, b) => (key(a) < key(b) ? -1 : 1)) };
}

const diffusersVariants: DiffusersVariant[] = [
  'valid',
  'pickleBin',
  'symlink',
  'hardlink',
  'missingComponent',
  'badJson',
  'urlInConfig',
  'hiddenFile',
  'customPipeline',
  'unexpectedDirectory',
  'badSafetensors',
  'noIndex',
];

describe('diffusers over a directory in memory', () => {
  it.each(diffusersVariants)('%s: the same inspection as from the directory', async (variant) => {
    const root = join(dir, `diffusers-${variant}`);
    await writeDiffusersDir(root, variant);
    const fromDisk = await inspectDiffusersDirectory(root);
    const inMemory = await inspectDiffusersSource(memoryDirectory(await snapshot(root)));
    expect(settled(inMemory)).toEqual(settled(fromDisk));
    expect(fromDisk.ok).toBe(variant === 'valid');
  });

  it('a member with trailing bytes is refused in memory as on disk', async () => {
    const root = join(dir, 'diffusers-trailing');
    await writeDiffusersDir(root, 'valid');
    const tree = await snapshot(root);
    const config = tree['unet/config.json'] as { bytes: Uint8Array };
    tree['unet/config.json'] = {
      kind: 'file',
      bytes: new Uint8Array([...config.bytes, 0x20, 0x20, 0x0a]),
    };
    const r = await inspectDiffusersSource(memoryDirectory(tree));
    expect(r.findings.map((f) => [f.code, f.path])).toEqual([
      ['trailing_data', 'unet/config.json'],
    ]);
  });
});

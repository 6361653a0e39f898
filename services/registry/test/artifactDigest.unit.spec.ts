import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactDigestError, hashArtifact } from '@secai/contracts';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** The directory digest written out by hand, as services/quarantine's `directoryDigestHex`. */
function expectedDirectoryDigest(files: { rel: string; content: Buffer }[]): string {
  const sortedFiles = [...files].sort((a, b) =>
    Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel)),
  );
  const lines = sortedFiles
    .map((f) => `${f.rel}\0${f.content.length}\0${sha(f.content)}\n`)
    .join('');
  return `sha256:${sha(Buffer.from(lines, 'utf8'))}`;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-digest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hashArtifact', () => {
  it('digests a file as the SHA-256 of its bytes, in chunks, reporting progress', async () => {
    const content = Buffer.alloc(10_000, 7);
    content.write('GGUF', 0);
    const path = join(dir, 'model.gguf');
    await writeFile(path, content);
    const progress: [number, number][] = [];
    const result = await hashArtifact(path, {
      chunkBytes: 4096,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(result).toEqual({ digest: `sha256:${sha(content)}`, sizeBytes: 10_000, files: 1 });
    expect(progress).toEqual([
      [4096, 10_000],
      [8192, 10_000],
      [10_000, 10_000],
    ]);
  });

  it('digests an empty file', async () => {
    const path = join(dir, 'empty.bin');
    await writeFile(path, '');
    expect(await hashArtifact(path)).toEqual({
      digest: `sha256:${sha('')}`,
      sizeBytes: 0,
      files: 1,
    });
  });

  it('digests a directory over sorted `<path>\\0<size>\\0<sha256>\\n` lines (the quarantine definition)', async () => {
    const root = join(dir, 'tree');
    // `a.txt` sorts before `a/…` by bytes ('.' < '/'), although a walk meets `a/` first;
    // `Z` sorts before `a`, and a non-ASCII name sorts by its UTF-8 bytes.
    const files = [
      { rel: 'a/b.json', content: Buffer.from('{"b":1}') },
      { rel: 'a/c/deep.safetensors', content: Buffer.alloc(3000, 1) },
      { rel: 'a.txt', content: Buffer.from('alpha') },
      { rel: 'Z.md', content: Buffer.from('zed') },
      { rel: 'é/ü.bin', content: Buffer.from([0, 1, 2, 3]) },
      { rel: 'empty', content: Buffer.alloc(0) },
    ];
    for (const f of files) {
      await mkdir(join(root, f.rel, '..'), { recursive: true });
      await writeFile(join(root, f.rel), f.content);
    }
    await mkdir(join(root, 'no-files-here'), { recursive: true });
    let last: [number, number] = [0, 0];
    const result = await hashArtifact(root, {
      chunkBytes: 1000,
      onProgress: (done, total) => (last = [done, total]),
    });
    const total = files.reduce((s, f) => s + f.content.length, 0);
    expect(result).toEqual({
      digest: expectedDirectoryDigest(files),
      sizeBytes: total,
      files: files.length,
    });
    expect(last).toEqual([total, total]);
  });

  it('matches a value computed independently (Python hashlib) for a pinned tree', async () => {
    const root = join(dir, 'pinned');
    await mkdir(join(root, 'a'), { recursive: true });
    await writeFile(join(root, 'a', 'b'), 'beta');
    await writeFile(join(root, 'a.txt'), 'alpha');
    expect((await hashArtifact(root)).digest).toBe(
      'sha256:4e34b67085977e6ae706bc1999975578cb7256b19e4f8f9f195232e4cc378dca',
    );
  });

  it('gives an empty directory the digest of no lines', async () => {
    const root = join(dir, 'void');
    await mkdir(root);
    expect(await hashArtifact(root)).toEqual({
      digest: `sha256:${sha('')}`,
      sizeBytes: 0,
      files: 0,
    });
  });

  it('refuses symbolic links, at the root and inside a tree', async () => {
    const target = join(dir, 'target.bin');
    await writeFile(target, 'x');
    const link = join(dir, 'link.bin');
    await symlink(target, link);
    await expect(hashArtifact(link)).rejects.toMatchObject({
      code: 'ARTIFACT_SYMLINK',
      path: link,
    });
    const tree = join(dir, 'linked-tree');
    await mkdir(tree);
    await writeFile(join(tree, 'ok.bin'), 'ok');
    await symlink(target, join(tree, 'escape'));
    const err = await hashArtifact(tree).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactDigestError);
    expect(err).toMatchObject({ code: 'ARTIFACT_SYMLINK', path: join(tree, 'escape') });
  });

  it('refuses special files', async () => {
    const tree = join(dir, 'fifo-tree');
    await mkdir(tree);
    await writeFile(join(tree, 'ok.bin'), 'ok');
    execFileSync('mkfifo', [join(tree, 'pipe')]);
    await expect(hashArtifact(tree)).rejects.toMatchObject({ code: 'ARTIFACT_SPECIAL_FILE' });
    await expect(hashArtifact(join(tree, 'pipe'))).rejects.toMatchObject({
      code: 'ARTIFACT_SPECIAL_FILE',
    });
  });

  it('reports a missing artifact with its own code', async () => {
    await expect(hashArtifact(join(dir, 'nope'))).rejects.toMatchObject({
      code: 'ARTIFACT_NOT_FOUND',
    });
  });
});

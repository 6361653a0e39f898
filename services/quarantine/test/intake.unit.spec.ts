import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFile,
  chmod,
  link,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, schemaProblems, supplyChainEvents } from '@secai/contracts';
import {
  cleanupIncomplete,
  modelAcquiredData,
  snapshotArtifact,
  type Refusal,
  type Snapshot,
} from '../src/index.js';

let base: string;
let n = 0;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'secai-intake-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function fresh(): Promise<{ src: string; q: string }> {
  const dir = join(base, `case-${n++}`);
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'q'));
  return { src: join(dir, 'src'), q: join(dir, 'q') };
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const mode = async (p: string) => (await stat(p)).mode & 0o777;

function expectSnapshot(r: Snapshot | Refusal): Snapshot {
  if (!r.ok) throw new Error(`refused: ${r.reason}: ${r.detail}`);
  return r;
}

async function expectRefusal(r: Snapshot | Refusal, reason: string, q: string): Promise<void> {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe(reason);
  expect(r.detail.length).toBeGreaterThan(0);
  // nothing is left behind
  const tmp = await readdir(join(q, 'tmp')).catch(() => []);
  expect(tmp).toEqual([]);
  const artifacts = await readdir(join(q, 'artifacts')).catch(() => []);
  expect(artifacts).toEqual([]);
}

async function diffusersDir(root: string): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {
    'model_index.json': Buffer.from('{"_class_name":"StableDiffusionPipeline"}'),
    'unet/config.json': Buffer.from('{"in_channels":4}'),
    'unet/diffusion_pytorch_model.safetensors': randomBytes(200_000),
    'text_encoder/config.json': Buffer.from('{}'),
    'tokenizer/vocab.json': Buffer.from('{"a":1}'),
  };
  for (const [rel, bytes] of Object.entries(files)) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), bytes);
  }
  return files;
}

function expectedDirDigest(files: Record<string, Buffer>): string {
  const lines = Object.keys(files)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((rel) => `${rel}\0${files[rel]!.length}\0${sha(files[rel]!)}\n`)
    .join('');
  return sha(lines);
}

describe('snapshotArtifact: files', () => {
  it('copies, hashes and makes a file read-only', async () => {
    const { src, q } = await fresh();
    const bytes = randomBytes(300_000);
    const file = join(src, 'tiny.gguf');
    await writeFile(file, bytes);
    const s = expectSnapshot(await snapshotArtifact(file, q, {}, { chunkBytes: 65_536 }));
    expect(s).toMatchObject({
      ok: true,
      kind: 'file',
      name: 'tiny.gguf',
      digest: `sha256:${sha(bytes)}`,
      sizeBytes: bytes.length,
      fileCount: 1,
      reused: false,
    });
    expect(s.path).toBe(join(q, 'artifacts', sha(bytes), 'tiny.gguf'));
    expect(await readFile(s.path)).toEqual(bytes);
    expect(await mode(s.path)).toBe(0o444);
    expect(await mode(join(q, 'artifacts', sha(bytes)))).toBe(0o555);
    expect(await readdir(join(q, 'tmp'))).toEqual([]);
  });

  it('is idempotent: a re-import reuses the existing snapshot', async () => {
    const { src, q } = await fresh();
    const file = join(src, 'm.safetensors');
    await writeFile(file, 'same bytes');
    const a = expectSnapshot(await snapshotArtifact(file, q));
    const b = expectSnapshot(await snapshotArtifact(file, q));
    expect(b.digest).toBe(a.digest);
    expect(b.path).toBe(a.path);
    expect(b.reused).toBe(true);
    expect(await readdir(join(q, 'tmp'))).toEqual([]);
    expect(await readdir(join(q, 'artifacts'))).toEqual([sha('same bytes')]);
  });

  it('accepts an empty file (the format gate judges it)', async () => {
    const { src, q } = await fresh();
    await writeFile(join(src, 'empty.gguf'), '');
    const s = expectSnapshot(await snapshotArtifact(join(src, 'empty.gguf'), q));
    expect(s.digest).toBe(`sha256:${sha('')}`);
  });
});

describe('snapshotArtifact: directories', () => {
  it('copies a diffusers directory with the documented digest and read-only modes', async () => {
    const { src, q } = await fresh();
    const root = join(src, 'sd-tiny');
    const files = await diffusersDir(root);
    const s = expectSnapshot(await snapshotArtifact(root, q, {}, { chunkBytes: 4096 }));
    const hex = expectedDirDigest(files);
    expect(s).toMatchObject({
      kind: 'directory',
      name: 'sd-tiny',
      digest: `sha256:${hex}`,
      sizeBytes: Object.values(files).reduce((t, b) => t + b.length, 0),
      fileCount: 5,
    });
    expect(s.path).toBe(join(q, 'artifacts', hex, 'sd-tiny'));
    for (const [rel, bytes] of Object.entries(files)) {
      expect(await readFile(join(s.path, rel))).toEqual(bytes);
      expect(await mode(join(s.path, rel))).toBe(0o444);
    }
    for (const d of ['', 'unet', 'text_encoder', 'tokenizer'])
      expect(await mode(join(s.path, d))).toBe(0o555);
    const again = expectSnapshot(await snapshotArtifact(root, q));
    expect(again.reused).toBe(true);
    expect(again.digest).toBe(s.digest);
    expect(await readdir(join(q, 'tmp'))).toEqual([]);
  });

  it('length-safe digest: moving bytes between name and content changes it', async () => {
    const a = await fresh();
    await mkdir(join(a.src, 'd'));
    await writeFile(join(a.src, 'd', 'a'), 'bc');
    const b = await fresh();
    await mkdir(join(b.src, 'd'));
    await writeFile(join(b.src, 'd', 'ab'), 'c');
    const sa = expectSnapshot(await snapshotArtifact(join(a.src, 'd'), a.q));
    const sb = expectSnapshot(await snapshotArtifact(join(b.src, 'd'), b.q));
    expect(sa.digest).not.toBe(sb.digest);
  });
});

describe('snapshotArtifact: refusals', () => {
  it('not_found', async () => {
    const { src, q } = await fresh();
    await expectRefusal(await snapshotArtifact(join(src, 'missing.gguf'), q), 'not_found', q);
  });

  it('symlink as the artifact', async () => {
    const { src, q } = await fresh();
    await writeFile(join(src, 'real.gguf'), 'x');
    await symlink(join(src, 'real.gguf'), join(src, 'link.gguf'));
    await expectRefusal(await snapshotArtifact(join(src, 'link.gguf'), q), 'symlink', q);
  });

  it('symlink inside a directory', async () => {
    const { src, q } = await fresh();
    const root = join(src, 'model');
    await diffusersDir(root);
    await symlink('/etc/passwd', join(root, 'unet', 'evil.json'));
    const r = await snapshotArtifact(root, q);
    await expectRefusal(r, 'symlink', q);
    expect(!r.ok && r.detail).toContain('unet/evil.json');
  });

  it('hard link', async () => {
    const { src, q } = await fresh();
    await writeFile(join(src, 'a.gguf'), 'x');
    await link(join(src, 'a.gguf'), join(src, 'b.gguf'));
    await expectRefusal(await snapshotArtifact(join(src, 'a.gguf'), q), 'hard_link', q);
    const root = join(src, 'dir');
    await mkdir(root);
    await link(join(src, 'a.gguf'), join(root, 'c.gguf'));
    await expectRefusal(await snapshotArtifact(root, q), 'hard_link', q);
  });

  let hasMkfifo = true;
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
  } catch {
    hasMkfifo = false;
  }
  it.skipIf(!hasMkfifo)('special file (fifo), alone and inside a directory', async () => {
    const { src, q } = await fresh();
    execFileSync('mkfifo', [join(src, 'pipe.gguf')]);
    await expectRefusal(await snapshotArtifact(join(src, 'pipe.gguf'), q), 'special_file', q);
    const root = join(src, 'dir');
    await mkdir(root);
    await writeFile(join(root, 'ok.json'), '{}');
    execFileSync('mkfifo', [join(root, 'pipe')]);
    await expectRefusal(await snapshotArtifact(root, q), 'special_file', q);
  });

  it('hidden paths: a hidden file inside, a hidden directory inside, a hidden artifact', async () => {
    const { src, q } = await fresh();
    const root = join(src, 'model');
    await diffusersDir(root);
    await writeFile(join(root, 'unet', '.DS_Store'), 'x');
    await expectRefusal(await snapshotArtifact(root, q), 'hidden_path', q);
    await rm(join(root, 'unet', '.DS_Store'));
    await mkdir(join(root, '.git'));
    await expectRefusal(await snapshotArtifact(root, q), 'hidden_path', q);
    await writeFile(join(src, '.hidden.gguf'), 'x');
    await expectRefusal(await snapshotArtifact(join(src, '.hidden.gguf'), q), 'hidden_path', q);
  });

  it('invalid names: control characters, invalid UTF-8', async () => {
    const { src, q } = await fresh();
    await writeFile(join(src, 'bad\nname.gguf'), 'x');
    await expectRefusal(await snapshotArtifact(join(src, 'bad\nname.gguf'), q), 'invalid_name', q);
    const root = join(src, 'dir');
    await mkdir(root);
    await writeFile(join(root, 'ok.json'), '{}');
    await writeFile(Buffer.concat([Buffer.from(`${root}/x`), Buffer.from([0xff, 0xfe])]), 'x');
    const r = await snapshotArtifact(root, q);
    await expectRefusal(r, 'invalid_name', q);
    expect(!r.ok && r.detail).toContain('UTF-8');
  });

  it('size limits: per file and in total', async () => {
    const { src, q } = await fresh();
    await writeFile(join(src, 'big.gguf'), randomBytes(2000));
    await expectRefusal(
      await snapshotArtifact(join(src, 'big.gguf'), q, { maxFileBytes: 1000 }),
      'file_too_large',
      q,
    );
    const root = join(src, 'dir');
    await mkdir(root);
    for (const f of ['a', 'b', 'c']) await writeFile(join(root, f), randomBytes(600));
    await expectRefusal(
      await snapshotArtifact(root, q, { maxFileBytes: 1000, maxTotalBytes: 1500 }),
      'total_too_large',
      q,
    );
  });

  it('too many files, too deep, empty directory', async () => {
    const { src, q } = await fresh();
    const root = join(src, 'dir');
    await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
    for (const f of ['x', 'y', 'z']) await writeFile(join(root, f), f);
    await expectRefusal(await snapshotArtifact(root, q, { maxFiles: 2 }), 'too_many_files', q);
    await writeFile(join(root, 'a', 'b', 'c', 'deep'), 'd');
    await expectRefusal(await snapshotArtifact(root, q, { maxDepth: 3 }), 'too_deep', q);
    expectSnapshot(await snapshotArtifact(root, q, { maxDepth: 4 }));
    const empty = join(src, 'empty');
    await mkdir(join(empty, 'sub'), { recursive: true });
    const q2 = join(src, '..', 'q2');
    await expectRefusal(await snapshotArtifact(empty, q2), 'empty_directory', q2);
  });

  it('insufficient space (free-space check before copying)', async () => {
    const { src, q } = await fresh();
    await writeFile(join(src, 'm.gguf'), 'x');
    await expectRefusal(
      await snapshotArtifact(join(src, 'm.gguf'), q, { reserveBytes: Number.MAX_SAFE_INTEGER }),
      'insufficient_space',
      q,
    );
  });

  it('a file appended to while being copied', async () => {
    const { src, q } = await fresh();
    const file = join(src, 'grow.gguf');
    await writeFile(file, randomBytes(100_000));
    let appended = false;
    const r = await snapshotArtifact(
      file,
      q,
      {},
      {
        chunkBytes: 16_384,
        onChunk: async (_rel, copied) => {
          if (!appended && copied >= 32_768) {
            appended = true;
            await appendFile(file, 'more');
          }
        },
      },
    );
    await expectRefusal(r, 'changed_during_copy', q);
  });

  it('a file rewritten in place (same size) while being copied', async () => {
    const { src, q } = await fresh();
    const root = join(src, 'dir');
    await mkdir(root);
    await writeFile(join(root, 'w.safetensors'), randomBytes(50_000));
    let touched = false;
    const r = await snapshotArtifact(
      root,
      q,
      {},
      {
        chunkBytes: 8192,
        onChunk: async (rel) => {
          if (!touched) {
            touched = true;
            expect(rel).toBe('w.safetensors');
            await writeFile(join(root, 'w.safetensors'), randomBytes(50_000));
          }
        },
      },
    );
    await expectRefusal(r, 'changed_during_copy', q);
  });

  it('an entry added to a directory while it is copied', async () => {
    const { src, q } = await fresh();
    const root = join(src, 'dir');
    await mkdir(root);
    await writeFile(join(root, 'a.json'), '{}');
    const r = await snapshotArtifact(
      root,
      q,
      {},
      {
        onChunk: async () => {
          await writeFile(join(root, 'b.json'), '{}').catch(() => undefined);
        },
      },
    );
    await expectRefusal(r, 'changed_during_copy', q);
  });
});

describe('cleanupIncomplete', () => {
  it('removes copies a crash left behind, read-only ones included', async () => {
    const { q } = await fresh();
    const leftover = join(q, 'tmp', 'ab'.repeat(16));
    await mkdir(join(leftover, 'model', 'unet'), { recursive: true });
    await writeFile(join(leftover, 'model', 'unet', 'w'), 'partial');
    await chmod(join(leftover, 'model', 'unet', 'w'), 0o444);
    await chmod(join(leftover, 'model', 'unet'), 0o555);
    await chmod(join(leftover, 'model'), 0o555);
    await mkdir(join(q, 'tmp', 'not-ours'));
    const res = await cleanupIncomplete(q);
    expect(res).toEqual({ removed: ['ab'.repeat(16)], ignored: ['not-ours'] });
    expect(await readdir(join(q, 'tmp'))).toEqual(['not-ours']);
  });

  it('is a no-op on a fresh quarantine area', async () => {
    const { q } = await fresh();
    expect(await cleanupIncomplete(q)).toEqual({ removed: [], ignored: [] });
  });
});

describe('modelAcquiredData', () => {
  const schema = supplyChainEvents['model.acquired'].schema;

  it('builds valid data for a file, shaped as the fixture', async () => {
    const { src, q } = await fresh();
    await writeFile(join(src, 'qwen.gguf'), 'weights');
    const s = expectSnapshot(await snapshotArtifact(join(src, 'qwen.gguf'), q));
    const rev = '91cad51170dc346986eccefdc2dd33a9da36ead9';
    const url = `https://huggingface.co/Qwen/x/resolve/${rev}/qwen.gguf`;
    const data = modelAcquiredData(s, { via: 'airlock', url, revision: rev });
    expect(data).toEqual({
      kind: 'file',
      name: 'qwen.gguf',
      sizeBytes: 7,
      digest: `sha256:${sha('weights')}`,
      source: { via: 'airlock', url, revision: rev },
    });
    expect(schemaProblems(schema, data)).toEqual([]);
    const fixture = JSON.parse(
      await readFile(
        new URL('../../../contracts/test/__fixtures__/events/model.acquired.json', import.meta.url),
        'utf8',
      ),
    ) as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual(Object.keys(fixture).sort());
    expect(modelAcquiredData(s, { via: 'import' }).source).toEqual({ via: 'import' });
  });

  it('names who asked for an import (the signing service and its operator), and refuses a name with control characters', async () => {
    const { src, q } = await fresh();
    await writeFile(join(src, 'm.gguf'), 'x');
    const s = expectSnapshot(await snapshotArtifact(join(src, 'm.gguf'), q));
    const data = modelAcquiredData(s, {
      via: 'import',
      requestedBy: { service: 'ui', operator: 'alice' },
    });
    expect(data.requestedBy).toEqual({ service: 'ui', operator: 'alice' });
    expect(schemaProblems(schema, data)).toEqual([]);
    expect(() =>
      modelAcquiredData(s, {
        via: 'import',
        requestedBy: { service: 'ui', operator: 'al\u001bice' },
      }),
    ).toThrow(ValidationError);
  });

  it('includes fileCount for a directory', async () => {
    const { src, q } = await fresh();
    await diffusersDir(join(src, 'sd'));
    const s = expectSnapshot(await snapshotArtifact(join(src, 'sd'), q));
    const data = modelAcquiredData(s, { via: 'inbox' });
    expect(data.fileCount).toBe(5);
    expect(schemaProblems(schema, data)).toEqual([]);
  });

  it('throws ValidationError on invalid source fields', async () => {
    const { src, q } = await fresh();
    await writeFile(join(src, 'm.gguf'), 'x');
    const s = expectSnapshot(await snapshotArtifact(join(src, 'm.gguf'), q));
    expect(() => modelAcquiredData(s, { via: 'airlock', revision: 'main' })).toThrow(
      ValidationError,
    );
    expect(() =>
      modelAcquiredData(s, { via: 'airlock', url: 'https://user:pw@example.com/m.gguf' }),
    ).toThrow(ValidationError);
  });
});

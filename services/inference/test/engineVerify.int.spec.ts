import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HASH_CHUNK_BYTES,
  ModelVerificationError,
  openVerifiedModel,
  type TrustedModel,
} from '../src/engine/index.js';

// The re-hash before a load, on real files: every refusal path, and the property the descriptor
// is for (what was hashed is what gets loaded, whatever happens to the name afterwards).

let dir: string;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function stored(name: string, bytes: Buffer): Promise<TrustedModel> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { name, path, digest: sha(bytes), sizeBytes: bytes.length };
}

/** Bytes over several hash chunks, with a partial last one. */
const content = (fill: number) => Buffer.alloc(2 * HASH_CHUNK_BYTES + 12_345, fill);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-engine-verify-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function refusal(model: TrustedModel): Promise<ModelVerificationError> {
  const error = await openVerifiedModel(model).then(
    async (file) => {
      await file.close();
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelVerificationError);
  return error as ModelVerificationError;
}

describe('openVerifiedModel', () => {
  it('verifies the whole file and hands back its descriptor', async () => {
    const model = await stored('good.gguf', content(1));
    const file = await openVerifiedModel(model);
    try {
      expect(file.verifiedBytes).toBe(model.sizeBytes);
      expect(file.descriptorPath).toMatch(/^\/proc\/self\/fd\/\d+$/);
      expect(sha(await readFile(file.descriptorPath))).toBe(model.digest);
    } finally {
      await file.close();
    }
  });

  it('a file swapped by name after the hash: the descriptor still names the verified bytes', async () => {
    const model = await stored('swapped.gguf', content(2));
    const other = join(dir, 'other.gguf');
    await writeFile(other, content(3));
    const file = await openVerifiedModel(model);
    try {
      await rename(other, model.path);
      expect(sha(await readFile(model.path))).not.toBe(model.digest);
      expect(sha(await readFile(file.descriptorPath))).toBe(model.digest);
    } finally {
      await file.close();
    }
  });

  it('refuses one flipped byte as a mismatch, with the digest it found', async () => {
    const bytes = content(4);
    const model = await stored('flipped.gguf', bytes);
    const flipped = Buffer.from(bytes);
    flipped.writeUInt8(flipped.readUInt8(HASH_CHUNK_BYTES + 7) ^ 0x01, HASH_CHUNK_BYTES + 7);
    await writeFile(model.path, flipped);
    expect(await refusal(model)).toMatchObject({
      code: 'MODEL_VERIFICATION_FAILED',
      problem: 'mismatch',
      expected: model.digest,
      actual: sha(flipped),
      expectedSizeBytes: bytes.length,
      actualSizeBytes: bytes.length,
    });
  });

  it('refuses a file of another size before hashing it', async () => {
    const model = await stored('short.gguf', content(5));
    await writeFile(model.path, content(5).subarray(1));
    expect(await refusal(model)).toMatchObject({
      problem: 'size_mismatch',
      actual: null,
      actualSizeBytes: model.sizeBytes - 1,
    });
  });

  it('refuses a missing file, a symlink, a directory and a FIFO', async () => {
    const model = await stored('target.gguf', content(6));
    expect(await refusal({ ...model, path: join(dir, 'absent.gguf') })).toMatchObject({
      problem: 'missing',
      actual: null,
    });
    const link = join(dir, 'link.gguf');
    await symlink(model.path, link);
    expect(await refusal({ ...model, path: link })).toMatchObject({
      problem: 'not_a_regular_file',
    });
    const directory = join(dir, 'dir.gguf');
    await mkdir(directory);
    expect(await refusal({ ...model, path: directory })).toMatchObject({
      problem: 'not_a_regular_file',
    });
    const fifo = join(dir, 'fifo.gguf');
    execFileSync('mkfifo', [fifo]);
    // O_NONBLOCK: opening a FIFO with no writer must not hang the load.
    expect(await refusal({ ...model, path: fifo })).toMatchObject({
      problem: 'not_a_regular_file',
    });
  });

  // Root reads any file whatever its mode: this path is only reachable as another user.
  it.skipIf(process.getuid?.() === 0)('refuses a file it may not read as unreadable', async () => {
    const model = await stored('locked.gguf', content(7));
    await chmod(model.path, 0o000);
    expect(await refusal(model)).toMatchObject({ problem: 'unreadable', actual: null });
  });
});

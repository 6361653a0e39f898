import { createHash, randomBytes } from 'node:crypto';
import {
  appendFile,
  chmod,
  mkdir,
  mkdtemp,
  open,
  readFile,
  readdir,
  rm,
  stat,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotArtifact, type Refusal, type Snapshot } from '../src/index.js';
import { probeWriters } from '../src/intake/writers.js';

// Issue 11 §6: a file the service may consume (an inbox claim) is hashed where it lies and moved
// into custody by rename, when nobody else can change it any more (intake/custody.ts); otherwise,
// and always for a user's import, it is copied. The lease probe asks the kernel through perl
// (perl-base, Essential on Debian).
let base: string;
let n = 0;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'secai-custody-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A claim-like private directory (0700, ours) holding `name`, and a quarantine area beside it. */
async function dropped(
  bytes: Buffer,
  name = 'model.gguf',
  root = base,
): Promise<{ file: string; claim: string; q: string }> {
  const dir = join(root, `case-${n++}`);
  const claim = join(dir, 'claim');
  await mkdir(claim, { recursive: true, mode: 0o700 });
  await chmod(claim, 0o700);
  await mkdir(join(dir, 'q'));
  const file = join(claim, name);
  await writeFile(file, bytes, { mode: 0o644 });
  return { file, claim, q: join(dir, 'q') };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const inode = async (p: string) => (await stat(p)).ino;
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

function expectSnapshot(r: Snapshot | Refusal): Snapshot {
  if (!r.ok) throw new Error(`refused: ${r.reason}: ${r.detail}`);
  return r;
}

describe('custody by rename', () => {
  it('moves a consumed file into custody: same inode, the source gone, hashed from custody', async () => {
    const bytes = randomBytes(700_000);
    const { file, q } = await dropped(bytes);
    const ino = await inode(file);
    const phases: string[] = [];
    const s = expectSnapshot(
      await snapshotArtifact(
        file,
        q,
        {},
        { consumeSource: true, chunkBytes: 65_536, onPhase: (p) => phases.push(p) },
      ),
    );
    expect(s).toMatchObject({ custody: 'renamed', digest: `sha256:${sha(bytes)}`, reused: false });
    expect(s.path).toBe(join(q, 'artifacts', sha(bytes), 'model.gguf'));
    expect(await inode(s.path)).toBe(ino);
    expect(await exists(file)).toBe(false);
    expect(await readFile(s.path)).toEqual(bytes);
    const st = await stat(s.path);
    expect(st.mode & 0o777).toBe(0o444);
    expect(st.nlink).toBe(1);
    expect(st.uid).toBe(process.geteuid!());
    expect(await readdir(join(q, 'tmp'))).toEqual([]);
    expect(phases).toEqual(['plan', 'custody', 'read', 'sync', 'publish']);
  });

  it("copies a user's import and leaves the user's file where it was", async () => {
    const bytes = randomBytes(50_000);
    const { file, q } = await dropped(bytes);
    const ino = await inode(file);
    const s = expectSnapshot(await snapshotArtifact(file, q));
    expect(s.custody).toBe('copied');
    expect(await inode(s.path)).not.toBe(ino);
    expect(await readFile(file)).toEqual(bytes);
    expect((await stat(file)).mode & 0o777).toBe(0o644);
  });

  it('copies a consumed file whose directory others can reach', async () => {
    const bytes = randomBytes(50_000);
    const { file, claim, q } = await dropped(bytes);
    await chmod(claim, 0o755);
    const ino = await inode(file);
    const s = expectSnapshot(await snapshotArtifact(file, q, {}, { consumeSource: true }));
    expect(s.custody).toBe('copied');
    expect(s.custodyNote).toMatch(/not private/);
    expect(await inode(s.path)).not.toBe(ino);
    expect(s.digest).toBe(`sha256:${sha(bytes)}`);
  });

  it('copies a file someone still holds open for writing; writes after intake do not reach custody', async () => {
    const bytes = randomBytes(200_000);
    const { file, q } = await dropped(bytes);
    const ino = await inode(file);
    // A writer that opened the file before the drop and kept its descriptor.
    const writer: FileHandle = await open(file, 'r+');
    try {
      const s = expectSnapshot(await snapshotArtifact(file, q, {}, { consumeSource: true }));
      expect(s.custody).toBe('copied');
      expect(s.custodyNote).toBe('copied: it is open for writing elsewhere');
      expect(await inode(s.path)).not.toBe(ino);
      expect(s.digest).toBe(`sha256:${sha(bytes)}`);
      await writer.write(Buffer.from('tampered after intake'), 0, 21, 0);
      await writer.sync();
      expect(sha(await readFile(s.path))).toBe(sha(bytes));
    } finally {
      await writer.close();
    }
  });

  it('refuses a file changed while it is hashed in custody', async () => {
    const bytes = randomBytes(300_000);
    const { file, q } = await dropped(bytes);
    let changed = false;
    const r = await snapshotArtifact(
      file,
      q,
      {},
      {
        consumeSource: true,
        chunkBytes: 65_536,
        // Only a privileged hand (or the owner giving itself write access back) can do this once
        // the file is the service's and read-only; the check after the hash must still catch it.
        onChunk: async () => {
          if (changed) return;
          changed = true;
          await chmod(file, 0o644);
          await appendFile(file, 'late bytes');
        },
      },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('changed_during_copy');
    expect(await readdir(join(q, 'tmp'))).toEqual([]);
    expect(await readdir(join(q, 'artifacts'))).toEqual([]);
  });

  it('digests the bytes in custody, not what the file held when it was dropped', async () => {
    const first = randomBytes(100_000);
    const { file, q } = await dropped(first);
    // Rewritten in place after the drop (same inode), before intake looks at it.
    const later = randomBytes(100_000);
    const fh = await open(file, 'r+');
    await fh.write(later, 0, later.length, 0);
    await fh.close();
    const s = expectSnapshot(await snapshotArtifact(file, q, {}, { consumeSource: true }));
    expect(s.custody).toBe('renamed');
    expect(s.digest).toBe(`sha256:${sha(later)}`);
    expect(sha(await readFile(s.path))).toBe(sha(later));
  });

  it('publishes the claim directory itself, and reuses an identical snapshot', async () => {
    const bytes = randomBytes(10_000);
    const a = await dropped(bytes);
    const claimIno = await inode(a.claim);
    const first = expectSnapshot(await snapshotArtifact(a.file, a.q, {}, { consumeSource: true }));
    expect(first.custody).toBe('renamed');
    expect(await inode(join(a.q, 'artifacts', sha(bytes)))).toBe(claimIno);
    expect(await exists(a.claim)).toBe(false);
    // The same bytes dropped again: the snapshot is reused, the drop left for the inbox to remove.
    const again = join(a.claim, 'model.gguf');
    await mkdir(a.claim, { mode: 0o700 });
    await writeFile(again, bytes);
    const second = expectSnapshot(await snapshotArtifact(again, a.q, {}, { consumeSource: true }));
    expect(second).toMatchObject({ reused: true, path: first.path });
    expect(await readdir(join(a.q, 'artifacts', sha(bytes)))).toEqual(['model.gguf']);
    expect(await readdir(join(a.q, 'tmp'))).toEqual([]);
  });

  it('copies a consumed file whose directory holds anything else', async () => {
    const bytes = randomBytes(20_000);
    const { file, claim, q } = await dropped(bytes);
    await writeFile(join(claim, 'other.txt'), 'not part of the drop');
    const ino = await inode(file);
    const s = expectSnapshot(await snapshotArtifact(file, q, {}, { consumeSource: true }));
    expect(s.custody).toBe('copied');
    expect(await inode(s.path)).not.toBe(ino);
    expect((await readdir(claim)).sort()).toEqual(['model.gguf', 'other.txt']);
  });

  const shm = '/dev/shm';
  const crossDevice = async (): Promise<boolean> =>
    (await exists(shm)) && (await stat(shm)).dev !== (await stat(tmpdir())).dev;

  it('falls back to the copy across filesystems (EXDEV)', async (ctx) => {
    if (!(await crossDevice())) ctx.skip();
    const other = await mkdtemp(join(shm, 'secai-custody-'));
    try {
      const bytes = randomBytes(80_000);
      const { file, claim } = await dropped(bytes, 'model.gguf', other);
      const q = join(base, `case-${n++}-q`);
      await mkdir(q);
      const ino = await inode(file);
      const s = expectSnapshot(await snapshotArtifact(file, q, {}, { consumeSource: true }));
      expect(s.custody).toBe('copied');
      expect(await inode(s.path)).not.toBe(ino);
      expect(s.digest).toBe(`sha256:${sha(bytes)}`);
      // The source stays for its owner (the inbox) to remove with its claim.
      expect(await readdir(claim)).toEqual(['model.gguf']);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('probeWriters', () => {
  it('sees a descriptor open for writing, and none once it is closed', async () => {
    const { file } = await dropped(randomBytes(100));
    const reader = await open(file, 'r');
    try {
      expect(await probeWriters(reader)).toEqual({ kind: 'none' });
      const writer = await open(file, 'a');
      try {
        expect(await probeWriters(reader)).toEqual({ kind: 'writer' });
      } finally {
        await writer.close();
      }
      expect(await probeWriters(reader)).toEqual({ kind: 'none' });
    } finally {
      await reader.close();
    }
  });

  it('answers unknown when the probe cannot run', async () => {
    const { file } = await dropped(randomBytes(100));
    const reader = await open(file, 'r');
    try {
      const check = await probeWriters(reader, { perl: join(base, 'no-such-perl') });
      expect(check.kind).toBe('unknown');
    } finally {
      await reader.close();
    }
  });
});

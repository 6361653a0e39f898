import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, hashArtifact } from '@secai/contracts';
import { loadConfig, DEFAULT_VERIFY_EVERY_MS } from '../src/config.js';
import { progressPublisher } from '../src/commandHandlers.js';
import { ModelStore, StoreError, removeTree } from '../src/store.js';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const mode = async (path: string) => (await lstat(path)).mode & 0o777;

let stateDir: string;
let models: ModelStore;

/** Lays an artifact out as the quarantine does: artifacts/<hex>/<name>, read-only. */
async function quarantined(name: string, files: Record<string, string> | string) {
  const tmp = join(stateDir, 'q-tmp', name);
  if (typeof files === 'string') {
    await mkdir(join(stateDir, 'q-tmp'), { recursive: true });
    await writeFile(tmp, files);
  } else {
    for (const [rel, content] of Object.entries(files)) {
      await mkdir(join(tmp, rel, '..'), { recursive: true });
      await writeFile(join(tmp, rel), content);
    }
  }
  const { digest, sizeBytes } = await hashArtifact(tmp);
  const hex = digest.slice('sha256:'.length);
  const dir = join(models.layout.quarantineArtifacts, hex);
  await mkdir(dir, { recursive: true });
  await rm(join(dir, name), { recursive: true, force: true });
  await rename(tmp, join(dir, name));
  await chmod(dir, 0o555);
  return { hex, digest, sizeBytes, dir };
}

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'secai-registry-store-'));
  models = new ModelStore(stateDir);
  await models.open();
});
afterEach(async () => {
  await removeTree(stateDir);
});

describe('the store layout', () => {
  it('creates its areas under <stateDir>/registry with the documented modes', async () => {
    const l = models.layout;
    expect(l.storeRoot).toBe(join(stateDir, 'registry', 'store'));
    expect(l.containmentRoot).toBe(join(stateDir, 'registry', 'contained'));
    expect(l.quarantineArtifacts).toBe(join(stateDir, 'quarantine', 'artifacts'));
    expect(await mode(join(l.storeRoot, 'sha256'))).toBe(0o755);
    expect(await mode(l.containmentRoot)).toBe(0o700);
    expect(await mode(l.stagingDir)).toBe(0o700);
  });

  it('empties the trash of an interrupted removal when it opens', async () => {
    await mkdir(join(models.layout.trashDir, 'left-over', 'sub'), { recursive: true });
    await chmod(join(models.layout.trashDir, 'left-over'), 0o555);
    await models.open();
    expect(await readdir(models.layout.trashDir)).toEqual([]);
  });
});

describe('promotion into the store', () => {
  it('takes custody of a file, hashes it, and publishes it read-only with one rename', async () => {
    const a = await quarantined('tiny.gguf', 'GGUF tiny model bytes');
    expect(await models.takeCustody(a.hex, 'tiny.gguf')).toEqual({
      kind: 'hashed',
      digest: a.digest,
      sizeBytes: a.sizeBytes,
    });
    // The quarantine copy left the quarantine area at once.
    await expect(lstat(a.dir)).rejects.toMatchObject({ code: 'ENOENT' });
    const path = await models.publish(a.hex, 'tiny.gguf');
    expect(path).toBe(join(models.layout.storeRoot, 'sha256', a.hex, 'tiny.gguf'));
    expect(await readFile(path, 'utf8')).toBe('GGUF tiny model bytes');
    expect(await mode(path)).toBe(0o444);
    expect(await mode(join(path, '..'))).toBe(0o555);
    expect(await readdir(models.layout.stagingDir)).toEqual([]);
    expect(await models.observeAt('store', a.hex, 'tiny.gguf')).toMatchObject({
      kind: 'hashed',
      digest: a.digest,
    });
    expect(await models.presence(a.hex)).toEqual({ store: true, containment: false });
  });

  it('publishes a directory artifact with files 0444 and directories 0555', async () => {
    const a = await quarantined('sd-model', {
      'model_index.json': '{}',
      'unet/diffusion_pytorch_model.safetensors': 'weights',
    });
    await models.takeCustody(a.hex, 'sd-model');
    const path = await models.publish(a.hex, 'sd-model');
    expect(await mode(path)).toBe(0o555);
    expect(await mode(join(path, 'unet'))).toBe(0o555);
    expect(await mode(join(path, 'unet', 'diffusion_pytorch_model.safetensors'))).toBe(0o444);
    expect((await hashArtifact(path)).digest).toBe(a.digest);
  });

  it('reuses a copy already in custody (a crash after the custody rename)', async () => {
    const a = await quarantined('tiny.gguf', 'bytes');
    await models.takeCustody(a.hex, 'tiny.gguf');
    expect(await models.takeCustody(a.hex, 'tiny.gguf')).toMatchObject({ kind: 'hashed' });
  });

  it('reports a missing artifact as absent, and an unexpected layout as unreadable', async () => {
    expect(await models.takeCustody('ab'.repeat(32), 'x.gguf')).toEqual({ kind: 'absent' });
    const a = await quarantined('tiny.gguf', 'bytes');
    expect(await models.takeCustody(a.hex, 'other-name.gguf')).toMatchObject({
      kind: 'unreadable',
    });
    // Not taken into custody: it stays where the quarantine put it.
    expect(await readdir(a.dir)).toEqual(['tiny.gguf']);
  });

  it('gives a copy that did not match back to the quarantine area', async () => {
    const a = await quarantined('tiny.gguf', 'bytes');
    await models.takeCustody(a.hex, 'tiny.gguf');
    expect(await models.returnIncoming(a.hex)).toBe(a.dir);
    expect(await readdir(a.dir)).toEqual(['tiny.gguf']);
    expect(await mode(a.dir)).toBe(0o555);
    expect(await models.returnIncoming(a.hex)).toBeNull();
  });

  it('refuses to publish over other bytes in the store', async () => {
    const a = await quarantined('tiny.gguf', 'bytes');
    await models.takeCustody(a.hex, 'tiny.gguf');
    await mkdir(join(models.layout.storeRoot, 'sha256', a.hex), { recursive: true });
    await writeFile(join(models.layout.storeRoot, 'sha256', a.hex, 'intruder'), 'x');
    await expect(models.publish(a.hex, 'tiny.gguf')).rejects.toBeInstanceOf(StoreError);
    expect(await models.observeAt('store', a.hex, 'tiny.gguf')).toMatchObject({
      kind: 'unreadable',
    });
  });
});

describe('containment and removal', () => {
  async function storedModel() {
    const a = await quarantined('tiny.gguf', 'GGUF bytes');
    await models.takeCustody(a.hex, 'tiny.gguf');
    await models.publish(a.hex, 'tiny.gguf');
    return a;
  }

  it('moves a model out of the store into containment, atomically', async () => {
    const a = await storedModel();
    await models.contain(a.hex);
    expect(await models.presence(a.hex)).toEqual({ store: false, containment: true });
    const path = models.pathOf('containment', a.hex, 'tiny.gguf');
    expect(path).toBe(join(stateDir, 'registry', 'contained', a.hex, 'tiny.gguf'));
    expect(sha(await readFile(path))).toBe(a.hex);
    expect(await models.observeAt('containment', a.hex, 'tiny.gguf')).toMatchObject({
      kind: 'hashed',
      digest: a.digest,
    });
    expect(await models.observeAt('store', a.hex, 'tiny.gguf')).toEqual({ kind: 'absent' });
  });

  it('removes from the store or the containment area', async () => {
    const a = await storedModel();
    await models.remove(a.hex, { store: true, containment: false });
    expect(await models.presence(a.hex)).toEqual({ store: false, containment: false });
    const b = await storedModel();
    await models.contain(b.hex);
    await models.remove(b.hex, { store: true, containment: true });
    expect(await models.presence(b.hex)).toEqual({ store: false, containment: false });
    expect(await readdir(models.layout.trashDir)).toEqual([]);
  });
});

describe('progress and configuration', () => {
  it('publishes progress at most every 250 ms, and the last value at the end', () => {
    let t = 0;
    const sent: string[] = [];
    const p = progressPublisher(
      (s) => sent.push(s),
      () => t,
    );
    p.update(1, 10);
    t = 100;
    p.update(2, 10);
    t = 260;
    p.update(3, 10);
    t = 300;
    p.update(10, 10);
    p.finish();
    expect(sent.map((s) => JSON.parse(s) as unknown)).toEqual([
      { bytesDone: 1, totalBytes: 10 },
      { bytesDone: 3, totalBytes: 10 },
      { bytesDone: 10, totalBytes: 10 },
    ]);
  });

  it('reads the environment with defaults and refuses bad values', () => {
    expect(loadConfig({ SECAI_STATE_DIR: '/s' })).toEqual({
      stateDir: '/s',
      host: '127.0.0.1',
      port: 8470,
      verifyEveryMs: DEFAULT_VERIFY_EVERY_MS,
    });
    expect(
      loadConfig({ SECAI_STATE_DIR: '/s', SECAI_REGISTRY_VERIFY_EVERY_MS: '0' }).verifyEveryMs,
    ).toBe(0);
    expect(() => loadConfig({})).toThrow(/SECAI_STATE_DIR/);
    expect(() =>
      loadConfig({ SECAI_STATE_DIR: '/s', SECAI_REGISTRY_VERIFY_EVERY_MS: '-1' }),
    ).toThrow('SECAI_REGISTRY_VERIFY_EVERY_MS must be an integer in 0..2147483647, got "-1"');
    expect(() => loadConfig({ SECAI_STATE_DIR: '/s', SECAI_HTTP_PORT: '70000' })).toThrow(
      ConfigError,
    );
  });
});

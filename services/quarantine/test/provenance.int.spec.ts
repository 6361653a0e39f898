import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PinnedKey } from '../src/provenance/index.js';
import { runStage } from '../src/stages/runStage.js';
import { makeKeyPair, signModel } from '../src/testing/signing.js';

// Stage 4 as the coordinator runs it: the compiled provenance worker in the sandbox (unshare,
// nobody, read-only mounts), so this is an int test. The verification rules themselves are
// tested in process in provenance.unit.spec.ts.

const release = makeKeyPair('ed25519');
const p384 = makeKeyPair('P-384');
const pinned: PinnedKey[] = [
  { id: 'release-key', publicKeyPem: release.publicKeyPem },
  { id: 'p384-key', publicKeyPem: p384.publicKeyPem },
];

let base: string;
let n = 0;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'secai-provenance-'));
  await chmod(base, 0o755); // the sandboxed worker runs as nobody
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function modelFile(content: string): Promise<{ path: string; sig: string }> {
  const dir = join(base, `file-${n++}`);
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  const path = join(dir, 'model.gguf');
  await writeFile(path, content);
  return { path, sig: join(dir, 'model.gguf.sig') };
}

describe('provenance worker in the sandbox', () => {
  it('verifies a signed file with its bundle mounted read-only, and rejects a changed one', async () => {
    const { path, sig } = await modelFile('GGUF fake weights\n');
    await signModel({
      artifactPath: path,
      kind: 'file',
      privateKeyPem: release.privateKeyPem,
      keyId: 'release-key',
      bundlePath: sig,
    });
    await chmod(path, 0o444);
    await chmod(sig, 0o444);
    const params = { bundlePath: sig, keys: pinned, certificates: [], requireSignature: true };
    const request = { path, kind: 'file' as const, params, extraReadOnlyPaths: [sig] };
    expect(await runStage('provenance', request)).toMatchObject({
      passed: true,
      reasonCode: 'signature_ok',
      result: { level: 'signature-verified', signer: 'release-key', files: 1 },
    });
    const other = await modelFile('GGUF different weights\n');
    await chmod(other.path, 0o444);
    expect(
      await runStage('provenance', { ...request, path: other.path, extraReadOnlyPaths: [sig] }),
    ).toMatchObject({ passed: false, reasonCode: 'digest_mismatch' });
  });

  it('passes a P-384-signed directory whose git metadata OMS left out, and refuses one hiding its weights', async () => {
    const signedDirectory = async (ignorePaths: string[]): Promise<string> => {
      const dir = join(base, `dir-${n++}`);
      await mkdir(join(dir, 'unet'), { recursive: true });
      await mkdir(join(dir, '.git'));
      await writeFile(join(dir, 'model_index.json'), '{"_class_name":"StableDiffusionPipeline"}');
      await writeFile(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), 'weights');
      await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
      await signModel({
        artifactPath: dir,
        kind: 'directory',
        privateKeyPem: p384.privateKeyPem,
        ignorePaths,
      });
      for (const sub of ['', 'unet', '.git']) await chmod(join(dir, sub), 0o755);
      return dir;
    };
    const params = { bundlePath: null, keys: pinned, certificates: [], requireSignature: true };
    const whole = await signedDirectory([]);
    expect(await runStage('provenance', { path: whole, kind: 'directory', params })).toMatchObject({
      passed: true,
      reasonCode: 'signature_ok',
      result: { level: 'signature-verified', signer: 'p384-key', files: 2 },
    });
    const hiding = await signedDirectory(['unet']);
    expect(await runStage('provenance', { path: hiding, kind: 'directory', params })).toMatchObject(
      { passed: false, reasonCode: 'ignore_path_hides_file' },
    );
  });
});

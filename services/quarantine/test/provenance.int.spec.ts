import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PinnedKey } from '../src/provenance/index.js';
import { runStage } from '../src/stages/runStage.js';
import { signModel } from '../src/testing/signing.js';

// Stage 4 as the coordinator runs it: the compiled provenance worker in the sandbox (unshare,
// nobody, read-only mounts), so this is an int test. The verification rules themselves are
// tested in process in provenance.unit.spec.ts.

const release = generateKeyPairSync('ed25519', {
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const pinned: PinnedKey[] = [{ id: 'release-key', publicKeyPem: release.publicKey }];

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
      privateKeyPem: release.privateKey,
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
});

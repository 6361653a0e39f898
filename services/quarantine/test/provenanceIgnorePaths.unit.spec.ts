import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIgnorePaths } from '../src/provenance/ignorePaths.js';
import { verifyModelSignature, type PinnedKey } from '../src/provenance/index.js';
import { matchManifest } from '../src/provenance/manifestMatch.js';
import {
  OMS_DEFAULT_IGNORE_PATHS,
  buildOmsStatement,
  makeKeyPair,
  signModel,
  signStatement,
} from '../src/testing/signing.js';

// `serialization.ignore_paths`: honoured as OMS writes it (git metadata, the signature), never a
// way to leave a loadable file unsigned. Real signed bundles through the stage, plus the pure
// rules on their own.

const release = makeKeyPair('ed25519');
const keys: PinnedKey[] = [{ id: 'release-key', publicKeyPem: release.publicKeyPem }];

let base: string;
let n = 0;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'secai-provenance-ignore-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A diffusers-like directory (model_index.json, unet/config.json, unet weights). */
async function modelDirectory(): Promise<string> {
  const dir = join(base, `dir-${n++}`);
  await mkdir(join(dir, 'unet'), { recursive: true });
  await writeFile(join(dir, 'model_index.json'), '{"_class_name":"StableDiffusionPipeline"}');
  await writeFile(join(dir, 'unet', 'config.json'), '{"sample_size":64}');
  await writeFile(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), 'weights');
  return dir;
}

/** A checkout's git metadata, as OMS leaves it out by default. */
async function addGitMetadata(dir: string): Promise<void> {
  await mkdir(join(dir, '.git', 'refs'), { recursive: true });
  await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(dir, '.git', 'refs', 'main'), '0'.repeat(40));
  await writeFile(join(dir, '.gitattributes'), '*.safetensors filter=lfs\n');
}

function check(dir: string) {
  return verifyModelSignature({
    artifactPath: dir,
    kind: 'directory',
    bundlePath: null,
    keys,
    requireSignature: true,
  });
}

/** Signs the OMS statement for `dir` with its ignore_paths replaced by `ignorePaths`. */
async function signWithIgnorePaths(dir: string, ignorePaths: unknown): Promise<void> {
  const bundlePath = join(dir, 'model.sig');
  const statement = (await buildOmsStatement(dir, 'directory', bundlePath)) as {
    predicate: { serialization: Record<string, unknown> };
  };
  statement.predicate.serialization.ignore_paths = ignorePaths;
  await signStatement({ statement, privateKeyPem: release.privateKeyPem, bundlePath });
}

describe('ignore paths OMS writes', () => {
  it('given git metadata left out by OMS’s defaults, then signature_ok over the model files only', async () => {
    const dir = await modelDirectory();
    await addGitMetadata(dir);
    await signModel({ artifactPath: dir, kind: 'directory', privateKeyPem: release.privateKeyPem });
    const payload = JSON.parse(await readFile(join(dir, 'model.sig'), 'utf8')) as {
      dsseEnvelope: { payload: string };
    };
    const statement = JSON.parse(
      Buffer.from(payload.dsseEnvelope.payload, 'base64').toString(),
    ) as {
      predicate: { serialization: { ignore_paths: string[] }; resources: { name: string }[] };
    };
    expect(statement.predicate.serialization.ignore_paths).toEqual([
      ...OMS_DEFAULT_IGNORE_PATHS,
      'model.sig',
    ]);
    expect(statement.predicate.resources).toHaveLength(3);
    const verdict = await check(dir);
    expect(verdict).toMatchObject({ passed: true, reasonCode: 'signature_ok', files: 3 });
    expect(verdict.detail).toContain('3 left out by ignore_paths');
  });

  it('given a signed file that is also under an ignore path and was changed, then digest_mismatch', async () => {
    const dir = await modelDirectory();
    // Signed in full, then the signer's ignore list names the weights' directory too.
    const bundlePath = join(dir, 'model.sig');
    const statement = (await buildOmsStatement(dir, 'directory', bundlePath)) as {
      predicate: { serialization: { ignore_paths: string[] } };
    };
    statement.predicate.serialization.ignore_paths.push('unet');
    await signStatement({ statement, privateKeyPem: release.privateKeyPem, bundlePath });
    await writeFile(join(dir, 'unet', 'config.json'), '{"sample_size":65}');
    expect((await check(dir)).reasonCode).toBe('digest_mismatch');
  });
});

describe('ignore paths that would hide what the runtime loads', () => {
  it('given an ignore path over the weights’ directory, then ignore_path_hides_file', async () => {
    const dir = await modelDirectory();
    await signModel({
      artifactPath: dir,
      kind: 'directory',
      privateKeyPem: release.privateKeyPem,
      ignorePaths: ['unet'],
    });
    const verdict = await check(dir);
    expect(verdict).toMatchObject({ passed: false, reasonCode: 'ignore_path_hides_file' });
    expect(verdict.detail).toContain('"unet"');
    expect(verdict.detail).toContain('unet/diffusion_pytorch_model.safetensors');
  });

  it('given an ignore path naming a config, a tokenizer or a chat template, then ignore_path_hides_file', async () => {
    for (const [name, content] of [
      ['model_index.json', null],
      ['tokenizer/tokenizer.json', '{"model":{}}'],
      ['tokenizer/chat_template.jinja', '{{ messages }}'],
      ['README.md', '# card'],
    ] as const) {
      const dir = await modelDirectory();
      if (content !== null) {
        await mkdir(join(dir, 'tokenizer'), { recursive: true });
        await writeFile(join(dir, name), content);
      }
      await signModel({
        artifactPath: dir,
        kind: 'directory',
        privateKeyPem: release.privateKeyPem,
        ignorePaths: [name],
      });
      expect((await check(dir)).reasonCode, name).toBe('ignore_path_hides_file');
    }
  });

  it('given a file added under unet/.git, then file_unlisted: OMS’s .git is the top one only', async () => {
    const dir = await modelDirectory();
    await signModel({ artifactPath: dir, kind: 'directory', privateKeyPem: release.privateKeyPem });
    await mkdir(join(dir, 'unet', '.git'), { recursive: true });
    await writeFile(join(dir, 'unet', '.git', 'weights.safetensors'), 'added after signing');
    // OMS's `.git` is the model's own (relative to the top): unet/.git is not left out.
    expect((await check(dir)).reasonCode).toBe('file_unlisted');
  });
});

describe('ignore path entries that are not plain paths inside the model', () => {
  it('given absolute, escaping, pattern, whole-model or non-POSIX entries, then ignore_path_invalid', async () => {
    const dir = await modelDirectory();
    for (const entry of [
      '/etc/passwd',
      '../outside',
      'unet/../../outside',
      '*',
      '**',
      'unet/*.safetensors',
      '.',
      '',
      '/',
      'C:\\models',
      'unet\\config.json',
      'a//b',
    ]) {
      await signWithIgnorePaths(dir, [...OMS_DEFAULT_IGNORE_PATHS, 'model.sig', entry]);
      const verdict = await check(dir);
      expect(verdict.reasonCode, JSON.stringify(entry)).toBe('ignore_path_invalid');
    }
  });

  it('given ignore_paths that is not a list of strings, then ignore_path_invalid', async () => {
    const dir = await modelDirectory();
    for (const value of ['.git', [1], { '.git': true }, null]) {
      await signWithIgnorePaths(dir, value);
      expect((await check(dir)).reasonCode, JSON.stringify(value)).toBe('ignore_path_invalid');
    }
  });
});

describe('files neither signed nor ignored, and signed files that are gone', () => {
  it('given a file outside every ignore path (a name that only starts like one), then file_unlisted', async () => {
    const dir = await modelDirectory();
    await signModel({
      artifactPath: dir,
      kind: 'directory',
      privateKeyPem: release.privateKeyPem,
      ignorePaths: ['notes'],
    });
    await writeFile(join(dir, 'notes.json'), '{}');
    const verdict = await check(dir);
    expect(verdict).toMatchObject({ passed: false, reasonCode: 'file_unlisted' });
    expect(verdict.detail).toContain('notes.json');
  });

  it('given a signed file removed while git metadata is left out, then file_missing', async () => {
    const dir = await modelDirectory();
    await addGitMetadata(dir);
    await signModel({ artifactPath: dir, kind: 'directory', privateKeyPem: release.privateKeyPem });
    await unlink(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'));
    const verdict = await check(dir);
    expect(verdict).toMatchObject({ passed: false, reasonCode: 'file_missing' });
    expect(verdict.detail).toContain('unet/diffusion_pytorch_model.safetensors');
  });
});

describe('the rules on their own (pure)', () => {
  const manifest = new Map([
    ['model_index.json', 'a'.repeat(64)],
    ['unet/weights.safetensors', 'b'.repeat(64)],
  ]);

  it('reads OMS’s entries, a trailing slash as the same directory, and nothing as none', () => {
    expect(parseIgnorePaths(undefined)).toEqual({ ok: true, paths: [] });
    expect(parseIgnorePaths(['.git/', '.gitattributes', 'model.sig'])).toEqual({
      ok: true,
      paths: ['.git', '.gitattributes', 'model.sig'],
    });
    expect(parseIgnorePaths(Array(257).fill('.git'))).toMatchObject({
      ok: false,
      reason: 'ignore_path_invalid',
    });
  });

  it('leaves out git metadata and signatures, refuses anything else an entry covers', () => {
    expect(
      matchManifest(
        manifest,
        ['model_index.json', 'unet/weights.safetensors', '.git/HEAD', 'old.sig'],
        ['.git', 'old.sig'],
      ),
    ).toEqual({
      ok: true,
      signed: ['model_index.json', 'unet/weights.safetensors'],
      leftOut: ['.git/HEAD', 'old.sig'],
    });
    expect(
      matchManifest(
        manifest,
        ['model_index.json', 'unet/weights.safetensors', 'unet/x.py'],
        ['unet'],
      ),
    ).toMatchObject({ ok: false, reason: 'ignore_path_hides_file' });
  });

  it('never lets an ignore path excuse a missing signed file, and a single file ignores nothing', () => {
    expect(matchManifest(manifest, ['model_index.json'], ['unet'])).toMatchObject({
      ok: false,
      reason: 'file_missing',
    });
    const single = new Map([['.', 'c'.repeat(64)]]);
    expect(matchManifest(single, ['.'], OMS_DEFAULT_IGNORE_PATHS)).toEqual({
      ok: true,
      signed: ['.'],
      leftOut: [],
    });
  });
});

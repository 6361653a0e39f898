import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * A temp directory for one provenance spec (made before its tests, removed after), and the
 * artifacts the specs sign: a model file beside where its signature goes, and a small diffusers
 * directory. Each call makes a fresh subdirectory, so tests never see each other's files.
 */
export function provenanceWorkspace(prefix: string): {
  modelFile: (content?: string) => Promise<{ path: string; sig: string }>;
  modelDirectory: () => Promise<string>;
} {
  let base = '';
  let n = 0;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });
  return {
    modelFile: async (content = 'GGUF fake weights\n') => {
      const dir = join(base, `file-${n++}`);
      await mkdir(dir, { mode: 0o755 });
      await chmod(dir, 0o755);
      const path = join(dir, 'model.gguf');
      await writeFile(path, content);
      return { path, sig: join(dir, 'model.gguf.sig') };
    },
    modelDirectory: async () => {
      const dir = join(base, `dir-${n++}`);
      await mkdir(join(dir, 'unet'), { recursive: true });
      await writeFile(join(dir, 'model_index.json'), '{"_class_name":"StableDiffusionPipeline"}');
      await writeFile(join(dir, 'unet', 'config.json'), '{"sample_size":64}');
      await writeFile(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), 'weights');
      return dir;
    },
  };
}

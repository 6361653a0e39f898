import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isImportableGlobal } from '@secai/formats';
import { scanFileForPickles } from '../src/index.js';

describe('imports embedded in weights', () => {
  const stream = (module: number[], name: number[]) =>
    Uint8Array.from([0x80, 0x02, 0x63, ...module, 0x0a, ...name, 0x0a, 0x29, 0x52, 0x2e]);

  it('an import of a name no module can have is a chance run of weight bytes, not a payload', async () => {
    expect(isImportableGlobal({ module: '\u00ff\u00fe=', name: 'x' })).toBe(false);
    expect(isImportableGlobal({ module: 'os', name: 'sys tem' })).toBe(false);
    expect(isImportableGlobal({ module: 'torch._utils', name: '_rebuild_tensor_v2' })).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'secai-pickle-'));
    try {
      const weights = new Uint8Array(8192).fill(0x3c);
      weights.set(stream([0xff, 0xfe, 0x3d], [0x01, 0x9c]), 4000);
      await writeFile(join(dir, 'chance.bin'), weights);
      expect((await scanFileForPickles(join(dir, 'chance.bin'))).verdict).toBe('clean');
      const evil = new Uint8Array(8192).fill(0x3c);
      evil.set(stream([...Buffer.from('os')], [...Buffer.from('system')]), 4000);
      await writeFile(join(dir, 'evil.bin'), evil);
      expect((await scanFileForPickles(join(dir, 'evil.bin'))).verdict).toBe('malicious');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

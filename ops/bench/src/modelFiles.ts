// The two ~1 GiB model files of (h): a safetensors file of trained-looking F32 weights and a GGUF
// file in the llama layout, both valid, so that every stage before the behavioural test passes.
import { open } from 'node:fs/promises';
import { writeTinyLlamaGguf } from '@secai/quarantine/testing';

const MiB = 1024 * 1024;

export type ModelFormat = 'safetensors' | 'gguf';

/** A safetensors file of `bytes` with small, normal-looking F32 weights, written in 8 MiB chunks. */
export async function writeLargeSafetensors(path: string, bytes: number): Promise<void> {
  const tensors = 16;
  const per = Math.floor((bytes - 4096) / tensors / 4 / 1024) * 1024;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < tensors; i++)
    header[`layers.${i}.weight`] = {
      dtype: 'F32',
      shape: [per / 1024, 1024],
      data_offsets: [i * per * 4, (i + 1) * per * 4],
    };
  let text = JSON.stringify(header);
  while ((8 + text.length) % 8 !== 0) text += ' ';
  const fh = await open(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    await fh.write(len);
    await fh.write(Buffer.from(text));
    const chunk = new Float32Array((8 * MiB) / 4);
    let seed = 7;
    for (let i = 0; i < chunk.length; i++) {
      // Sum of uniforms: roughly normal, sd 0.02, as trained weights are.
      seed = (seed * 1103515245 + 12345) >>> 0;
      const a = seed / 2 ** 32;
      seed = (seed * 1103515245 + 12345) >>> 0;
      chunk[i] = (a + seed / 2 ** 32 - 1) * 0.035;
    }
    let left = tensors * per * 4;
    while (left > 0) {
      const n = Math.min(left, chunk.byteLength);
      await fh.write(new Uint8Array(chunk.buffer, 0, n));
      left -= n;
    }
  } finally {
    await fh.close();
  }
}

/** ~`bytes` of F32 llama weights, 2048 wide, layers added until the size is reached. */
export async function writeLargeGguf(path: string, bytes: number): Promise<void> {
  const perLayer = (4 * 2048 * 2048 + 3 * 2048 * 5632) * 4;
  await writeTinyLlamaGguf(path, {
    seed: 5,
    nEmbd: 2048,
    nHead: 16,
    nHeadKv: 16,
    nFf: 5632,
    nLayer: Math.max(1, Math.round(bytes / perLayer)),
  });
}

export async function writeLargeModel(
  format: ModelFormat,
  path: string,
  bytes: number,
): Promise<void> {
  if (format === 'safetensors') await writeLargeSafetensors(path, bytes);
  else await writeLargeGguf(path, bytes);
}

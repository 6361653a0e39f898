import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { EngineError, ModelVerificationError, type VerificationFailure } from './errors.js';
import type { TrustedModel } from './types.js';

// The re-hash before a load. The file is opened once; the size check, the hash and node-llama-cpp's
// load all go through that one descriptor (`/proc/self/fd/<n>` names the open file, not the path),
// so a file swapped by name after the hash is not what gets loaded.

export const HASH_CHUNK_BYTES = 1024 * 1024;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface VerifiedModelFile {
  /** `/proc/self/fd/<n>`: what node-llama-cpp is given as the model path. */
  readonly descriptorPath: string;
  readonly verifiedBytes: number;
  close(): Promise<void>;
}

/**
 * Opens `model.path` (O_NOFOLLOW: a symlink is refused; O_NONBLOCK: a FIFO cannot hang the open),
 * checks it is a regular file of `model.sizeBytes`, SHA-256s it through the descriptor in 1 MiB
 * reads and compares with `model.digest`. Throws `ModelVerificationError` on any difference; on
 * success the caller owns the open descriptor and must close it.
 */
export async function openVerifiedModel(model: TrustedModel): Promise<VerifiedModelFile> {
  if (!DIGEST.test(model.digest))
    throw new EngineError('INVALID_REQUEST', `model ${model.name}: digest is not sha256:<hex>`);
  const refuse = (
    failure: Omit<VerificationFailure, 'expected' | 'expectedSizeBytes'>,
    cause?: unknown,
  ) =>
    new ModelVerificationError(
      model.name,
      { ...failure, expected: model.digest, expectedSizeBytes: model.sizeBytes },
      cause === undefined ? undefined : { cause },
    );

  let handle: FileHandle;
  try {
    handle = await open(
      model.path,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch (error) {
    throw refuse({ problem: openProblem(error), actual: null, actualSizeBytes: null }, error);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw refuse({ problem: 'not_a_regular_file', actual: null, actualSizeBytes: null });
    if (stat.size !== model.sizeBytes)
      throw refuse({ problem: 'size_mismatch', actual: null, actualSizeBytes: stat.size });
    let hashed: { digest: string; bytes: number };
    try {
      hashed = await hashDescriptor(handle);
    } catch (error) {
      throw refuse({ problem: 'unreadable', actual: null, actualSizeBytes: stat.size }, error);
    }
    // Written to while it was read: what was hashed is not a stable file.
    if (hashed.bytes !== model.sizeBytes)
      throw refuse({
        problem: 'size_mismatch',
        actual: hashed.digest,
        actualSizeBytes: hashed.bytes,
      });
    if (hashed.digest !== model.digest)
      throw refuse({ problem: 'mismatch', actual: hashed.digest, actualSizeBytes: hashed.bytes });
    const verified = handle;
    return {
      descriptorPath: `/proc/self/fd/${verified.fd}`,
      verifiedBytes: hashed.bytes,
      close: () => verified.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** SHA-256 of the whole file, read at explicit offsets (the descriptor's position is not used). */
export async function hashDescriptor(
  handle: FileHandle,
): Promise<{ digest: string; bytes: number }> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK_BYTES, position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return { digest: `sha256:${hash.digest('hex')}`, bytes: position };
}

function openProblem(error: unknown): VerificationFailure['problem'] {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
  // O_NOFOLLOW on a symlink.
  if (code === 'ELOOP') return 'not_a_regular_file';
  return 'unreadable';
}

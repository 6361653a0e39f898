import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { ResolvedPath } from '../workspace/resolve.js';
import { ToolFirewallError } from '../errors.js';

// Reading through a descriptor that was already checked: never by name again.

/** Up to `max` bytes from the start of the file the handle holds. */
export async function readUpTo(handle: FileHandle, max: number): Promise<Buffer> {
  const buffer = Buffer.alloc(max);
  let filled = 0;
  while (filled < max) {
    const { bytesRead } = await handle.read(buffer, filled, max - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * SHA-256 of the whole file the handle holds, read in 1 MiB pieces, with the bytes read; null
 * when it holds more than `max` bytes (it may have grown since it was checked).
 */
export async function hashHandle(
  handle: FileHandle,
  max: number,
): Promise<{ hex: string; bytes: number } | null> {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1024 * 1024);
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) break;
    hash.update(chunk.subarray(0, bytesRead));
    position += bytesRead;
    if (position > max) return null;
  }
  return { hex: hash.digest('hex'), bytes: position };
}

/** The path argument an adapter declared, as the firewall resolved it. */
export function pathOf(paths: ReadonlyMap<string, ResolvedPath>, name: string): ResolvedPath {
  const p = paths.get(name);
  if (!p) throw new ToolFirewallError('TOOL_FAILED', `the path argument ${name} was not resolved`);
  return p;
}

/** UTF-8 text of bytes; invalid sequences become U+FFFD (a binary file reads as such). */
export function textOf(bytes: Buffer): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

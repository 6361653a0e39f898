// Reads a sigstore bundle from disk without trusting it: bounded size, strict UTF-8 JSON, the
// library's own shape validation, and only the form OMS uses (v0.3, one DSSE envelope).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  type Bundle,
  type BundleWithDsseEnvelope,
} from '@sigstore/bundle';
import { LIMITS, fail, type Failure } from './types.js';

export type BundleRead =
  | { ok: true; bundle: BundleWithDsseEnvelope }
  | { ok: false; absent: true }
  | (Failure & { absent?: false });

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String(error.code)
    : 'unknown';
}

/** The bundle's bytes, at most the cap plus one (to tell "too large" from "exactly the cap"). */
async function readBounded(
  path: string,
): Promise<{ ok: true; bytes: Buffer } | Exclude<BundleRead, { ok: true }>> {
  let handle;
  try {
    // O_NOFOLLOW: a bundle that is a symlink could point anywhere the worker may read.
    // O_NONBLOCK: a FIFO planted as model.sig must not hang the stage.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { ok: false, absent: true };
    return fail('bundle_unreadable', `cannot open the bundle (${errorCode(error)})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return fail('bundle_unreadable', 'the bundle is not a regular file');
    if (info.size > LIMITS.bundleBytes)
      return fail('bundle_too_large', `the bundle has ${info.size} bytes (cap 1 MiB)`);
    const buffer = Buffer.alloc(LIMITS.bundleBytes + 1);
    let length = 0;
    // The size can change after fstat: read until EOF or past the cap, never trust `info.size`.
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > LIMITS.bundleBytes) return fail('bundle_too_large', 'the bundle grew past 1 MiB');
    return { ok: true, bytes: buffer.subarray(0, length) };
  } catch (error) {
    return fail('bundle_unreadable', `cannot read the bundle (${errorCode(error)})`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Parses and shape-checks the bundle; nothing in it is trusted yet. */
export function parseBundle(bytes: Buffer): BundleRead {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return fail('bundle_invalid', 'the bundle is not UTF-8 JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return fail('bundle_invalid', 'the bundle is not a JSON object');
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (error) {
    return fail('bundle_invalid', `not a sigstore bundle: ${String(error).slice(0, 200)}`);
  }
  if (
    bundle.mediaType !== BUNDLE_V03_MEDIA_TYPE &&
    bundle.mediaType !== BUNDLE_V03_LEGACY_MEDIA_TYPE
  ) {
    return fail('bundle_invalid', `unsupported bundle media type ${bundle.mediaType.slice(0, 80)}`);
  }
  if (bundle.content.$case !== 'dsseEnvelope')
    return fail('bundle_invalid', 'the bundle carries no DSSE envelope (OMS signs an in-toto one)');
  return { ok: true, bundle: bundle as BundleWithDsseEnvelope };
}

export async function readBundle(path: string): Promise<BundleRead> {
  const read = await readBounded(path);
  return read.ok ? parseBundle(read.bytes) : read;
}

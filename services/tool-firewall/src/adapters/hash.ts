import { Type, type Static } from '@sinclair/typebox';
import { ToolFirewallError } from '../errors.js';
import { hashHandle, pathOf } from './io.js';
import { PathArg, closed } from './schemas.js';
import type { ToolAdapter } from './types.js';

const Args = Type.Object({ path: PathArg('the file to hash') }, closed);

/** `filesystem.hash`: SHA-256 of a file, read whole through its checked descriptor. */
export const hashAdapter: ToolAdapter<Static<typeof Args>> = {
  name: 'filesystem.hash',
  description: 'SHA-256 of a file in the workspace.',
  arguments: Args,
  paths: [{ name: 'path', access: 'read', target: 'file' }],
  async run(_args, ctx) {
    const file = pathOf(ctx.paths, 'path');
    const tooLarge = () =>
      new ToolFirewallError(
        'FILE_TOO_LARGE',
        `${file.logical} is larger than the ${ctx.limits.maxHashBytes} bytes filesystem.hash reads`,
      );
    if (file.stat.size > ctx.limits.maxHashBytes) throw tooLarge();
    const hashed = await hashHandle(file.handle, ctx.limits.maxHashBytes);
    if (!hashed) throw tooLarge();
    const { hex, bytes } = hashed;
    return {
      value: { path: file.logical, sha256: `sha256:${hex}`, bytes },
      producedBytes: bytes,
      truncated: false,
    };
  },
};

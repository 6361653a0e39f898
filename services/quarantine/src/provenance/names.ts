// How OMS names a file of the model: shared by the signed resources and the ignore list.
import { LIMITS, OMS } from './types.js';

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A resource name as OMS writes it: a relative POSIX path (`PurePosixPath`, so no empty, `.` or
 * `..` segments and no leading `/`); a single-file model's one resource is `.`. Backslashes and
 * control characters are refused so a name means the same thing on every system.
 */
export function canonicalName(name: string, kind: 'file' | 'directory'): boolean {
  if (kind === 'file') return name === OMS.singleFileName;
  if (Buffer.byteLength(name) > LIMITS.pathBytes || CONTROL.test(name) || name.includes('\\'))
    return false;
  return name
    .split('/')
    .every(
      (s) => s !== '' && s !== '.' && s !== '..' && Buffer.byteLength(s) <= LIMITS.segmentBytes,
    );
}

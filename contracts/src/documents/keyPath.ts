// Key paths as people write them: `tools.allow[2].name`. A key that is not a plain identifier is
// quoted (`budgets["a.b"]`), so a path names exactly one place even when keys hold dots.

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/u;

/** `path` + `.key` (or `["key"]` when the key is not a plain identifier). */
export function keyPathOf(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (PLAIN_KEY.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

function decodePointerSegment(segment: string): string {
  return segment.replace(/~1/gu, '/').replace(/~0/gu, '~');
}

/** The last key of a JSON pointer, decoded (`/a/b~1c` → `b/c`). */
export function lastPointerKey(pointer: string): string {
  return decodePointerSegment(pointer.slice(pointer.lastIndexOf('/') + 1));
}

/**
 * JSON pointer (`/tools/allow/0/name`) to key path (`tools.allow[0].name`). The value decides
 * whether a numeric segment is a list index or a mapping key (`budgets.0` vs `list[0]`).
 */
export function pointerToKeyPath(pointer: string, root: unknown): string {
  if (pointer === '' || pointer === '/') return '';
  let out = '';
  let cur: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = decodePointerSegment(raw);
    if (Array.isArray(cur) && /^(0|[1-9][0-9]*)$/u.test(segment)) {
      out = keyPathOf(out, Number(segment));
      cur = (cur as unknown[])[Number(segment)];
    } else {
      out = keyPathOf(out, segment);
      cur = isRecord(cur) && Object.hasOwn(cur, segment) ? cur[segment] : undefined;
    }
  }
  return out;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

import {
  InvalidDestinationEntryError,
  InvalidPathPatternError,
  normalizeDestinationEntry,
  normalizePattern,
} from '../match/index.js';

// Path patterns and airlock destinations as the policy may write them: what the matchers would
// refuse (or read differently than a person would) is refused when the policy loads, so a loaded
// policy never makes a matcher throw while deciding.

/**
 * Why a path pattern is refused, or undefined when it is fine: absolute, in normal form (no `.`
 * or `..` segments, no `//`, no trailing `/`), no NUL, control characters or backslashes, and no
 * glob except one trailing `/**`.
 */
export function pathPatternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('/')) return 'a path pattern must be absolute (start with "/")';
  if (hasControl(pattern)) return 'a path pattern must not contain NUL or other control characters';
  if (pattern.includes('\\')) return 'a path pattern must not contain backslashes';
  if (pattern.includes('//')) return 'a path pattern must not contain empty segments ("//")';
  const prefix = pattern.endsWith('/**') ? pattern.slice(0, -3) : pattern;
  if (prefix.includes('*')) return 'only a trailing "/**" glob is allowed in a path pattern';
  const segments = prefix.split('/').slice(1);
  if (segments.includes('..')) return 'a path pattern must not contain ".." segments';
  if (segments.includes('.')) return 'a path pattern must not contain "." segments';
  if (prefix.length > 1 && prefix.endsWith('/')) {
    const bare = prefix.slice(0, -1);
    return `a path pattern must not end with "/": write ${bare} or ${bare}/**`;
  }
  // Last, the matcher's own view (percent escapes, Unicode slash look-alikes …): a policy that
  // loads must never make a matcher throw while deciding.
  try {
    normalizePattern(pattern);
  } catch (err) {
    if (err instanceof InvalidPathPatternError) {
      return `a path pattern the matcher refuses: ${err.refusal} (${err.detail})`;
    }
    throw err;
  }
  return undefined;
}

/**
 * Why an airlock destination is refused, or undefined when it is fine: `https://host[:port][/path]`
 * (no userinfo, query, fragment, dot segments or encoded separators) or a bare host name.
 */
export function destinationProblem(destination: string): string | undefined {
  if (hasControl(destination) || /[\s\\]/u.test(destination)) {
    return 'a destination must not contain whitespace, control characters or backslashes';
  }
  if (destination.includes('*'))
    return 'a destination must not contain wildcards: hosts are matched exactly';
  const schemeEnd = destination.indexOf('://');
  if (schemeEnd < 0) {
    if (/[/:@?#%[\]]/u.test(destination))
      return 'a destination is https://host[:port][/path] or a bare host name';
    try {
      if (new URL(`https://${destination}/`).hostname !== '') return matcherRefusal(destination);
    } catch {
      // reported below
    }
    return `${JSON.stringify(destination)} is not a valid host name`;
  }
  const scheme = destination.slice(0, schemeEnd);
  if (scheme.toLowerCase() !== 'https')
    return `a destination must use https, not ${JSON.stringify(scheme)}`;
  const rest = destination.slice(schemeEnd + 3);
  if (rest.includes('#')) return 'a destination must not have a fragment ("#…")';
  if (rest.includes('?')) return 'a destination must not have a query ("?…")';
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (authority.includes('@')) return 'a destination must not carry userinfo ("user:password@")';
  if (authority === '') return 'a destination must name a host';
  let url: URL;
  try {
    url = new URL(destination);
  } catch {
    return `${JSON.stringify(destination)} is not a valid URL`;
  }
  if (
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.hostname === ''
  ) {
    return 'a destination is https://host[:port][/path] without userinfo, query or fragment';
  }
  if (path.includes('//')) return 'a destination path must not contain empty segments ("//")';
  if (/%(2f|5c|00)/iu.test(path))
    return 'a destination path must not contain encoded "/", "\\" or NUL';
  for (const segment of path.split('/')) {
    const decoded = segment.replace(/%2e/giu, '.');
    if (decoded === '.' || decoded === '..')
      return 'a destination path must not contain "." or ".." segments';
  }
  return matcherRefusal(destination);
}

/** The destination matcher's own view: a policy that loads must never make it throw. */
function matcherRefusal(destination: string): string | undefined {
  try {
    normalizeDestinationEntry(destination);
    return undefined;
  } catch (err) {
    if (err instanceof InvalidDestinationEntryError) {
      return `a destination the matcher refuses: ${err.refusal} (${err.detail})`;
    }
    throw err;
  }
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

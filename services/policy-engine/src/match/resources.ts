import { findLookalike } from '@secai/contracts';

// MCP resource URIs as `mcp_call` judges them. The policy's globs (`mcpResourceMatches` in
// @secai/contracts) compare text; a URI that a server could read differently than the text says
// is refused before any glob sees it: `file:///workspace/*/x` would otherwise match
// `file:///workspace/../x`, and an encoded or look-alike separator would slip past a `*`.

/** Why a resource URI is refused before matching, or undefined when it can be matched. */
export function resourceRefusal(uri: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/u.test(uri)) return 'not a URI (no scheme)';
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return 'whitespace, NUL or control characters';
  }
  if (uri.includes('\\')) return 'a backslash';
  if (/%(2e|2f|5c|00)/iu.test(uri)) return 'an encoded ".", "/", "\\" or NUL';
  const lookalike = findLookalike(uri);
  if (lookalike !== null) return `a look-alike of a separator or dot (${lookalike.detail})`;
  const path = uri.replace(/[?#].*$/su, '');
  if (path.split('/').some((s) => s === '.' || s === '..')) return 'a "." or ".." segment';
  return undefined;
}

/**
 * Why a resource glob is refused when the policy loads, or undefined: a URI (with a scheme)
 * without whitespace, control characters or backslashes, whose only `**` is a final `/**`.
 */
export function resourcePatternProblem(pattern: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/u.test(pattern))
    return 'a resource pattern is a URI glob with a scheme (file:///workspace/*)';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f)
      return 'a resource pattern must not contain whitespace or controls';
  }
  if (pattern.includes('\\')) return 'a resource pattern must not contain backslashes';
  const body = pattern.endsWith('/**') ? pattern.slice(0, -3) : pattern;
  if (body.includes('**')) return '"**" is only allowed as a final "/**" (anything below)';
  if (body.split('/').some((s) => s === '.' || s === '..'))
    return 'a resource pattern must not contain "." or ".." segments';
  return undefined;
}

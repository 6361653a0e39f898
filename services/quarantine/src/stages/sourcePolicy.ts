import {
  destinationAllowed,
  normalizeDestinationEntry,
  parseDestination,
  redactedDestination,
} from '@secai/policy-engine/match';

export interface SourceCheck {
  passed: boolean;
  reasonCode: string;
  detail: string;
  /** The canonical source (no credentials, query or fragment), or null for a local import. */
  source: string | null;
}

/**
 * Stage 1 (reference §2.1): a local import passes; a download must come from a canonical HTTPS
 * URL (no credentials, query, fragment, encoded traversal or look-alike characters; port 443)
 * under one of the allowed sources. The allowlist is the policy's `airlock.allowed_destinations`
 * and the matching is the policy engine's own (scheme, IDNA host and port exact, path prefixes at
 * segment boundaries), so there is one definition of "an allowed source". An empty list fails
 * closed.
 */
export function checkSourcePolicy(
  sourceUrl: string | null,
  allowlist: readonly string[],
): SourceCheck {
  if (sourceUrl === null || sourceUrl === '') {
    return {
      passed: true,
      reasonCode: 'local_import',
      detail: 'no source URL: a local import',
      source: null,
    };
  }
  if (sourceUrl !== sourceUrl.trim())
    return fail('source_whitespace', 'the source URL has surrounding whitespace');
  const parsed = parseDestination(sourceUrl);
  if (!parsed.ok)
    return fail(`source_${parsed.refusal}`, `the source URL is refused: ${parsed.refusal}`);
  if (parsed.dest.scheme !== 'https' || parsed.dest.port !== 443)
    return fail('source_not_https', 'a source must be https on port 443');
  if (parsed.hadUserinfo || parsed.hadQuery || parsed.hadFragment) {
    return fail('source_not_canonical', 'a source URL carries no credentials, query or fragment');
  }
  if (parsed.dest.path.split('/').includes('..'))
    return fail('source_traversal', 'a source path has no .. segment');
  const canonical = redactedDestination(parsed.dest);
  if (allowlist.length === 0)
    return {
      ...fail('no_allowlist', 'no allowed sources are configured: cannot verify a remote origin'),
      source: canonical,
    };
  const hit = allowlist.find((entry) => {
    try {
      return destinationAllowed(parsed.dest, normalizeDestinationEntry(entry));
    } catch {
      return false;
    }
  });
  if (!hit)
    return {
      ...fail('source_not_allowed', `source not in the allowlist: ${canonical.slice(0, 100)}`),
      source: canonical,
    };
  return { passed: true, reasonCode: 'allowlisted', detail: `matches ${hit}`, source: canonical };
}

function fail(reasonCode: string, detail: string): SourceCheck {
  return { passed: false, reasonCode, detail, source: null };
}

import { destinationAllowed, normalizeDestinationEntry, parseDestination } from '../match/index.js';
import { Trace, type Verdict } from '../decision.js';
import type { MainPolicy } from '../policy/index.js';

/**
 * `model_source`: may a model that names this URL as its origin enter the quarantine? The
 * quarantine's source-policy stage asks it for every artifact that carries a source URL. It is
 * not `egress` on purpose: `egress` answers "may a request leave the machine now" (it depends on
 * `runtime_egress`, `airlock.enabled` and the method), while the origin of bytes already here is
 * judged against the airlock's list alone, strictly: a canonical https URL on port 443 with no
 * credentials, query or fragment, under one of `airlock.allowed_destinations`. An empty list
 * admits no remote origin (fail closed).
 */
export function decideModelSource(
  url: string | null,
  refusal: string | null,
  canonical: boolean,
  policy: MainPolicy,
): Verdict {
  const trace = new Trace();
  const parsed = url === null ? null : parseDestination(url);
  if (parsed === null || !parsed.ok)
    return trace.conclude(
      'deny',
      'source.refused',
      `source refused: ${refusal ?? (parsed && !parsed.ok ? parsed.refusal : 'unparseable')}`,
    );
  trace.miss('source.refused', 'the source is a well-formed http(s) URL');
  if (!canonical)
    return trace.conclude(
      'deny',
      'source.not_canonical',
      'a source URL carries no credentials, query or fragment',
    );
  trace.miss('source.not_canonical', 'no credentials, query or fragment');
  if (parsed.dest.scheme !== 'https' || parsed.dest.port !== 443)
    return trace.conclude('deny', 'source.not_https', 'a source must be https on port 443');
  trace.miss('source.not_https', 'https on port 443');
  const entries = policy.airlock.allowed_destinations;
  if (entries.length === 0)
    return trace.conclude(
      'deny',
      'source.allowlist_empty',
      'no allowed sources are configured: a remote origin cannot be admitted',
    );
  trace.miss('source.allowlist_empty', `${entries.length} allowed source(s)`);
  const entry = entries.find((e) => destinationAllowed(parsed.dest, normalizeDestinationEntry(e)));
  if (entry) return trace.conclude('allow', 'source.allowlisted', `source matches ${entry}`);
  return trace.conclude('deny', 'source.not_allowlisted', 'source matches no allowed source');
}

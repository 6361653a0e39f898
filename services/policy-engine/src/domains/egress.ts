import { destinationAllowed, normalizeDestinationEntry, parseDestination } from '../match/index.js';
import { Trace, type Verdict } from '../decision.js';
import type { MainPolicy } from '../policy/index.js';

/**
 * `egress`: may this request leave the machine? Fails closed: `runtime_egress: deny` (the
 * default) lets out only airlock destinations while the airlock is enabled, with an allowed
 * method; `runtime_egress: allow` must be written in the policy to open the network. A URL that
 * carries credentials is always denied (they would leak into logs and proxies).
 */
export function decideEgress(
  url: string | null,
  refusal: string | null,
  method: string,
  credentials: boolean,
  policy: MainPolicy,
): Verdict {
  const trace = new Trace();
  if (url === null)
    return trace.conclude(
      'deny',
      'egress.destination_refused',
      `destination refused: ${refusal ?? 'unparseable'}`,
    );
  trace.miss('egress.destination_refused', 'destination is a well-formed http(s) URL');
  if (credentials)
    return trace.conclude('deny', 'egress.credentials_in_url', 'the URL carries credentials');
  trace.miss('egress.credentials_in_url', 'no credentials in the URL');
  if (policy.defaults.network.runtime_egress === 'allow') {
    return trace.conclude(
      'allow',
      'defaults.network.egress_allow',
      'the policy allows runtime egress',
    );
  }
  trace.miss('defaults.network.egress_allow', 'runtime egress is denied by default');
  if (!policy.airlock.enabled)
    return trace.conclude('deny', 'airlock.disabled', 'the airlock is disabled');
  trace.miss('airlock.disabled', 'the airlock is enabled');
  if (!(policy.airlock.allowed_methods as readonly string[]).includes(method)) {
    return trace.conclude('deny', 'airlock.method_denied', `method ${method} is not allowed`);
  }
  trace.miss('airlock.method_denied', `method ${method} is allowed`);
  const parsed = parseDestination(url);
  if (!parsed.ok)
    return trace.conclude(
      'deny',
      'egress.destination_refused',
      `destination refused: ${parsed.refusal}`,
    );
  const entry = policy.airlock.allowed_destinations.find((e) =>
    destinationAllowed(parsed.dest, normalizeDestinationEntry(e)),
  );
  if (entry)
    return trace.conclude('allow', 'airlock.destination_allowlist', `destination matches ${entry}`);
  return trace.conclude('deny', 'airlock.destination_miss', 'destination matches no airlock entry');
}

import {
  DecisionRequest,
  schemaProblems,
  sha256Hex,
  type DecisionRequestData,
} from '@secai/contracts';
import type { DecisionInput } from './decision.js';
import { parseDestination, redactedDestination } from './match/index.js';
import { mcpSubject, normalizeMcp } from './normalizeMcp.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const DOMAIN_TOKEN = /^[a-z][a-z0-9_]{0,63}$/;

export interface NormalizedRequest {
  input: DecisionInput;
  /** Digest of the raw subject and the copy the decision log may keep. */
  subject: { digest: string; redacted: string };
  action?: string;
}

/**
 * How deep a decide request may nest. A valid one is at most four levels (a promotion result's
 * stages); anything deeper is refused before a recursive step (the schema check, the digest's
 * `JSON.stringify`) could overflow its stack on it.
 */
export const MAX_REQUEST_DEPTH = 16;

/**
 * A body the gateway refused to parse (not JSON, or nested too deep). It is still decided, as an
 * invalid request: the deny is recorded with the refusal and the digest of the bytes received.
 */
export class RefusedBody {
  constructor(
    readonly problem: string,
    readonly digest: string,
  ) {}
}

/**
 * Whether a parsed value nests deeper than `limit`, walked with an explicit stack (no recursion
 * to overflow) and abandoned as soon as the answer is known.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node))
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

function refused(problem: string, digest: string, requested = ''): NormalizedRequest {
  return {
    input: {
      domain: 'invalid',
      requestedDomain: DOMAIN_TOKEN.test(requested) ? requested : 'invalid',
      problems: [problem],
    },
    subject: { digest, redacted: '(invalid request)' },
  };
}

/**
 * Turns a raw request into the decision input the rules read: validated against the closed
 * request schema (an invalid request becomes an `invalid` input, which is denied and recorded),
 * reduced to the fields a rule looks at, and stripped of secrets (a URL loses its credentials,
 * query and fragment; the decision never depends on them).
 */
export function normalizeRequest(raw: unknown): NormalizedRequest {
  if (raw instanceof RefusedBody) return refused(raw.problem, raw.digest);
  const requested =
    typeof (raw as { domain?: unknown })?.domain === 'string'
      ? (raw as { domain: string }).domain
      : '';
  // Whatever path the request came by (HTTP, a NATS command, the promotion consumer): bounded
  // before anything recursive reads it. Too deep to serialise, so its digest is of the refusal.
  if (nestedDeeperThan(raw, MAX_REQUEST_DEPTH)) {
    const problem = `the request nests deeper than ${MAX_REQUEST_DEPTH} levels`;
    return refused(problem, `sha256:${sha256Hex(problem)}`, requested);
  }
  const problems = schemaProblems(DecisionRequest, raw);
  if (problems.length > 0) {
    return {
      input: {
        domain: 'invalid',
        requestedDomain: DOMAIN_TOKEN.test(requested) ? requested : 'invalid',
        problems: problems.slice(0, 8),
      },
      subject: {
        digest: `sha256:${sha256Hex(JSON.stringify(raw) ?? '')}`,
        redacted: '(invalid request)',
      },
    };
  }
  const request = raw as DecisionRequestData;
  const subject = {
    digest: `sha256:${sha256Hex(request.subject)}`,
    redacted: request.subject.slice(0, 512),
  };
  const withAction = (input: DecisionInput): NormalizedRequest =>
    request.action === undefined ? { input, subject } : { input, subject, action: request.action };
  const invalid = (problem: string): NormalizedRequest => ({
    input: { domain: 'invalid', requestedDomain: request.domain, problems: [problem] },
    subject,
  });

  if (request.mcp !== undefined && request.domain !== 'mcp_call')
    return invalid('mcp is only for the mcp_call domain');

  switch (request.domain) {
    case 'tool_access':
      return withAction({
        domain: 'tool_access',
        tool: request.subject,
        path: request.params?.path ?? null,
      });
    case 'path_access': {
      const access = request.action ?? 'read';
      if (access !== 'read' && access !== 'write')
        return invalid(`path_access action must be read or write, not ${access}`);
      return withAction({ domain: 'path_access', path: request.subject, access });
    }
    case 'egress': {
      const method = (request.params?.method ?? 'GET').toUpperCase();
      if (!METHODS.has(method)) return invalid(`unknown HTTP method ${method.slice(0, 16)}`);
      const parsed = parseDestination(request.subject);
      if (!parsed.ok) {
        return withAction({
          domain: 'egress',
          url: null,
          refusal: parsed.refusal,
          method,
          credentials: false,
        });
      }
      const url = redactedDestination(parsed.dest);
      return {
        ...withAction({
          domain: 'egress',
          url,
          refusal: null,
          method,
          credentials: parsed.hadUserinfo,
        }),
        subject: { digest: subject.digest, redacted: url.slice(0, 512) },
      };
    }
    case 'model_source': {
      // Like egress, the rules never see credentials, a query or a fragment: only that there
      // were some, which is reason enough to refuse a model's origin.
      const parsed = parseDestination(request.subject);
      if (!parsed.ok)
        return withAction({
          domain: 'model_source',
          url: null,
          refusal: parsed.refusal,
          canonical: false,
        });
      const url = redactedDestination(parsed.dest);
      return {
        ...withAction({
          domain: 'model_source',
          url,
          refusal: null,
          canonical: !(parsed.hadUserinfo || parsed.hadQuery || parsed.hadFragment),
        }),
        subject: { digest: subject.digest, redacted: url.slice(0, 512) },
      };
    }
    case 'agent_risk':
      return withAction({ domain: 'agent_risk', action: request.subject });
    case 'sensitivity':
      return withAction({
        domain: 'sensitivity',
        level: request.subject,
        ceiling: request.params?.ceiling ?? '',
      });
    case 'model_promotion':
      return withAction({
        domain: 'model_promotion',
        model: request.subject,
        promotion: request.promotion ?? null,
      });
    case 'mcp_call': {
      // Reduced to what the rules read; the subject is derived from the call, not trusted.
      const reduced = normalizeMcp(request.mcp, request.subject);
      if (!reduced.ok) return invalid(reduced.problem);
      return { ...withAction(reduced.input), subject: mcpSubject(reduced.subject) };
    }
    default:
      return withAction({ domain: request.domain, unknown: true });
  }
}

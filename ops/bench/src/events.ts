import { createHash } from 'node:crypto';
import { POLICY_DOMAINS, type DraftEvent } from '@secai/contracts';

/**
 * The bench's event: `policy.decided`, the most frequent event of a busy appliance (one per tool
 * call, path access, egress request...), with a realistic one-rule evidence trace. Aggregates
 * spread over the six decision domains (`secai.evt.decision.<domain>`).
 */
const DOMAINS = POLICY_DOMAINS;
const policyDigest = digestOf('bench policy v1');

export function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Digests are computed once and reused: building an event is not hashing its input. */
const inputDigests = Array.from({ length: 256 }, (_, i) => digestOf(`bench input ${i}`));

export function policyDecision(i: number, now: Date): DraftEvent<'policy.decided'> {
  const domain = DOMAINS[i % DOMAINS.length]!;
  const inputDigest = inputDigests[i % inputDigests.length]!;
  const allowed = i % 10 !== 0;
  return {
    type: 'policy.decided',
    aggregateId: domain,
    data: {
      caller: 'mcp-firewall',
      domain,
      subject: {
        digest: inputDigest,
        redacted: `filesystem.read /srv/workspace/project-${i % 97}/…`,
      },
      action: 'invoke',
      decision: allowed ? 'allow' : 'deny',
      reason: allowed ? 'tool is on the workspace allow-list' : 'path is outside the workspace',
      evidence: {
        domain,
        ruleId: allowed ? 'tools.workspace_allow' : 'paths.outside_workspace',
        policyDigest,
        inputDigest,
        evaluatedAt: now.toISOString(),
        durationMicros: 20 + (i % 180),
        trace: [
          {
            ruleId: allowed ? 'tools.workspace_allow' : 'paths.outside_workspace',
            matched: true,
            why: allowed ? 'tool filesystem.read matched' : 'path not under /srv/workspace',
          },
        ],
      },
    },
  };
}

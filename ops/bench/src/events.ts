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

/**
 * Decision inputs (canonical JSON, as the rules read them) and their digests are computed once and
 * reused: building an event is not hashing its input. A multiple of the domain count long, so
 * each input names the domain of the events it is used in.
 */
const inputs = Array.from({ length: DOMAINS.length * 42 }, (_, i) => {
  const input = JSON.stringify({
    domain: DOMAINS[i % DOMAINS.length]!,
    path: `/srv/workspace/project-${i % 97}/src/file-${i}.ts`,
    tool: 'filesystem.read',
  });
  return { input, digest: digestOf(input) };
});

export function policyDecision(i: number, now: Date): DraftEvent<'policy.decided'> {
  const domain = DOMAINS[i % DOMAINS.length]!;
  const { input, digest: inputDigest } = inputs[i % inputs.length]!;
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
      input,
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

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  MAX_DECISION_REQUEST_BYTES,
  PolicyDecidedData,
  canonicalJson,
  schemaProblems,
  sha256Hex,
  type McpCallInputData,
} from '@secai/contracts';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  normalizeRequest,
  parsePolicyDocuments,
} from '../src/index.js';
import type { McpCallDecisionInput } from '../src/decision.js';
import { MCP_MAX_INPUT_CHARS, MCP_VALUE_BUDGET } from '../src/normalizeMcp.js';
import { arg, mcpPolicy, mcpRequest } from './mcpFixtures.js';

// What mcp_call records: the request reduced to what the rules read, bounded so that the
// `policy.decided` event it becomes is always valid (a decision that cannot be recorded is a
// 503 and a deny for a caller who did nothing wrong).

type Call = Partial<McpCallInputData> & Pick<McpCallInputData, 'server' | 'method'>;
const problemOf = (raw: unknown): string | undefined => {
  const { input } = normalizeRequest(raw);
  return input.domain === 'invalid' && 'problems' in input ? input.problems.join('; ') : undefined;
};
const invalid = (call: Call, subject = '') => problemOf({ ...mcpRequest(call), subject });

describe('the recorded mcp_call input', () => {
  it('is the call without argument digests, its subject derived from the call', () => {
    const n = normalizeRequest(
      mcpRequest({
        server: 'filesystem',
        method: 'tools/call',
        tool: 'read_file',
        arguments: [arg('path', '/home/user/a'), arg('content', undefined, 9000)],
        taint: ['private'],
      }),
    );
    expect(n.input).toEqual({
      domain: 'mcp_call',
      server: 'filesystem',
      method: 'tools/call',
      tool: 'read_file',
      resource: null,
      arguments: [
        { name: 'path', bytes: 12, value: '/home/user/a' },
        { name: 'content', bytes: 9000, value: null },
      ],
      taint: ['private'],
    });
    expect(n.subject).toEqual({
      digest: `sha256:${sha256Hex('filesystem/read_file')}`,
      redacted: 'filesystem/read_file',
    });
    const read = normalizeRequest(
      mcpRequest({ server: 'fs', method: 'resources/read', resource: 'file:///a' }),
    );
    expect(read.subject.redacted).toBe('fs/file:///a');
    expect(
      normalizeRequest(mcpRequest({ server: 'fs', method: 'tools/list' })).subject.redacted,
    ).toBe('fs/tools/list');
  });

  it('keeps values in order up to the budget; a value past it is dropped, not cut', () => {
    const value = 'v'.repeat(2000);
    const n = normalizeRequest(
      mcpRequest({
        server: 's',
        method: 'tools/call',
        tool: 't',
        arguments: [1, 2, 3, 4, 5].map((i) => arg(`a${i}`, value)).concat(arg('short', 'x')),
      }),
    );
    const kept = (n.input as McpCallDecisionInput).arguments.map((a) => a.value?.length ?? null);
    // Each value costs 2002 JSON characters: four fit in the budget, the fifth does not, the short one does.
    expect(Math.floor(MCP_VALUE_BUDGET / 2002)).toBe(4);
    expect(kept).toEqual([2000, 2000, 2000, 2000, null, 1]);
  });

  it('refuses a request that is not the shape of its method', () => {
    expect(problemOf({ domain: 'mcp_call', subject: '' })).toBe('mcp_call needs the mcp field');
    expect(invalid({ server: 's', method: 'tools/call' })).toMatch(
      /mcp.tool is required for tools\/call/,
    );
    expect(invalid({ server: 's', method: 'tools/list', tool: 't' })).toMatch(/only for it/);
    expect(invalid({ server: 's', method: 'resources/read' })).toMatch(/mcp.resource is required/);
    expect(invalid({ server: 's', method: 'tools/list', resource: 'x:y' })).toMatch(
      /only for resources/,
    );
    expect(
      invalid({
        server: 's',
        method: 'tools/call',
        tool: 't',
        arguments: [arg('a', '1'), arg('a', '2')],
      }),
    ).toMatch(/names an argument twice/);
  });

  it('refuses a subject other than the call it describes (the log shows what was decided)', () => {
    const call = { server: 'fs', method: 'tools/call', tool: 'read_file' } as const;
    expect(invalid(call, 'fs/read_file')).toBeUndefined();
    expect(invalid(call, 'fs/write_file')).toMatch(/subject must be empty or/);
  });

  it('refuses mcp on another domain', () =>
    expect(
      problemOf({
        domain: 'tool_access',
        subject: 'x',
        mcp: mcpRequest({ server: 's', method: 'tools/list' }).mcp,
      }),
    ).toBe('mcp is only for the mcp_call domain'));

  it('refuses a request too large to record', () => {
    const name = (i: number) => `${i}`.padStart(120, 'n');
    const args = Array.from({ length: 128 }, (_, i) => arg(name(i), undefined, 1));
    expect(invalid({ server: 's', method: 'tools/call', tool: 't', arguments: args })).toMatch(
      new RegExp(`too large to record .* the limit is ${MCP_MAX_INPUT_CHARS}`),
    );
  });
});

describe('the policy.decided event of an mcp_call decision', () => {
  const engine = new PolicyEngine({ now: () => new Date('2025-01-01T00:00:00Z'), micros: () => 0 });
  const loaded = parsePolicyDocuments(
    ['policy.yaml', 'agent.yaml']
      .map((f) => ({
        path: `/p/${f}`,
        text: readFileSync(join(DEFAULT_POLICY_DIR, f), 'utf8'),
      }))
      .concat({ path: '/p/mcp.yaml', text: stringify(mcpPolicy()) }),
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  engine.install(loaded.snapshot);

  it('is valid near the size limit, and past it (then recorded as an invalid request)', () => {
    // 2 KiB-class values whose characters escape to six JSON characters each, long names, 64 labels.
    const value = '\u0001'.repeat(300);
    const call = (nameLength: number, labelLength: number) =>
      mcpRequest({
        server: 'mail',
        method: 'tools/call',
        tool: 'draft',
        arguments: Array.from({ length: 20 }, (_, i) =>
          arg(`${i}`.padStart(nameLength, 'x'), value),
        ),
        taint: Array.from({ length: 64 }, (_, i) => `${i}`.padStart(labelLength, 't')),
      });
    const near = call(100, 40);
    const over = call(200, 100);
    for (const [request, domain] of [
      [near, 'mcp_call'],
      [over, 'invalid'],
    ] as const) {
      expect(JSON.stringify(request).length).toBeLessThan(MAX_DECISION_REQUEST_BYTES);
      const { event } = engine.decide(request, 'mcp-firewall');
      expect(JSON.parse(event.data.input)).toMatchObject({ domain });
      expect(schemaProblems(PolicyDecidedData, event.data)).toEqual([]);
    }
    const nearInput = engine.decide(near, 'mcp-firewall').event.data.input;
    expect(nearInput.length).toBeGreaterThan(MCP_MAX_INPUT_CHARS * 0.8);
    expect(nearInput.length).toBeLessThanOrEqual(MCP_MAX_INPUT_CHARS);
  });

  it('records the reduced input, and its digest is the evidence', () => {
    const { event, response } = engine.decide(
      mcpRequest({
        server: 'filesystem',
        method: 'tools/call',
        tool: 'read_file',
        arguments: [arg('path', '/home/user/a')],
      }),
      'mcp-firewall',
    );
    expect(response).toMatchObject({
      decision: 'allow',
      evidence: { ruleId: 'mcp.tool_allowed', domain: 'mcp_call' },
    });
    expect(event.data.input).not.toContain('digest');
    expect(response.evidence.inputDigest).toBe(`sha256:${sha256Hex(event.data.input)}`);
    expect(JSON.parse(event.data.input)).toEqual(
      JSON.parse(
        canonicalJson(
          normalizeRequest(
            mcpRequest({
              server: 'filesystem',
              method: 'tools/call',
              tool: 'read_file',
              arguments: [arg('path', '/home/user/a')],
            }),
          ).input,
        ),
      ),
    );
    expect(schemaProblems(PolicyDecidedData, event.data)).toEqual([]);
  });
});

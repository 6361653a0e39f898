import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '@secai/contracts';
import { refusal, startMcpFixture, type McpFixture } from './mcpFixture.js';

// The MCP firewall end to end (issue 13 §4): SDK clients, a sandboxed stdio upstream and a hostile
// streamable-HTTP upstream, the real policy engine over NATS, one nats-server for the whole file.

let fx: McpFixture;

beforeAll(async () => {
  fx = await startMcpFixture();
}, 120_000);

afterAll(async () => {
  await fx?.stop();
});

function dataOf(events: CloudEvent[], type: string) {
  return events.filter((e) => e.type === type).map((e) => e.data as Record<string, unknown>);
}

describe('first contact: nothing is listed until an operator approves it', () => {
  it('lists no tool, and records why each one is held back', async () => {
    const { client } = await fx.connect({ service: 'agent' });
    const listed = await client.listTools();
    expect(listed.tools).toEqual([]);
    const refused = dataOf(await fx.events(), 'mcp.tool.refused');
    const codes = (server: string, tool: string) =>
      refused
        .filter((r) => r.server === server && r.tool === tool)
        .flatMap((r) => (r.reasons as { code: string }[]).map((x) => x.code));
    expect(codes('files', 'big_output')).toEqual(['unpinned']);
    expect(codes('web', 'add')).toEqual(
      expect.arrayContaining([
        'poisoned.hidden_instruction',
        'poisoned.concealment',
        'poisoned.sensitive_file',
      ]),
    );
    // Two servers list read_file: neither is approved, so neither is listed.
    expect(codes('files', 'read_file')).toEqual(['shadowing']);
    expect(codes('web', 'read_file')).toEqual(['shadowing']);
    await client.close();
  });

  it('approves every new clean tool of a server at once (first setup), as the operator', async () => {
    const res = await fx.api('cli', '/api/v1/approve', {
      method: 'POST',
      body: { server: 'files', all: true, operator: 'alice' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { pinned: { tool: string }[]; skipped: unknown[] };
    expect(body.pinned.map((p) => p.tool).sort()).toEqual([
      'big_output',
      'network_probe',
      'read_file',
    ]);
    const pinned = dataOf(await fx.events(), 'mcp.tool.pinned');
    expect(pinned.map((p) => [p.server, p.tool, p.operator])).toContainEqual([
      'files',
      'read_file',
      'alice',
    ]);
  });

  it('calls an approved tool: decided by the engine, recorded, output redacted, taint applied', async () => {
    const { client, session } = await fx.connect({ service: 'agent' });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['big_output', 'network_probe', 'read_file']);
    const result = await client.callTool({
      name: 'read_file',
      arguments: { path: '/workspace/notes.txt' },
    });
    const text = (result.content as { type: string; text: string }[])[0]!.text;
    expect(text).toContain('meeting notes');
    expect(text).toContain('password=[REDACTED:password]');
    expect(text).toContain('[REDACTED:private_key]');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('b3BlbnNzaC1rZXktdjEAAAAABG5vbmU');
    const events = (await fx.events()).filter((e) => e.subject === `mcp/${session}`);
    const decided = dataOf(events, 'mcp.call.decided').find((d) => d.method === 'tools/call')!;
    expect(decided).toMatchObject({
      decision: 'allow',
      by: 'policy',
      ruleId: 'mcp.tool_allowed',
      tool: 'read_file',
    });
    expect(decided.decisionId).toEqual(expect.any(String));
    expect(JSON.stringify(events)).not.toContain('hunter2');
    const completed = dataOf(events, 'mcp.call.completed')[0]!;
    expect(completed).toMatchObject({ outcome: 'ok', truncated: false });
    expect(completed.redactions).toEqual(
      expect.arrayContaining([
        { category: 'password', count: 1 },
        { category: 'private_key', count: 1 },
      ]),
    );
    expect(dataOf(events, 'mcp.taint.applied')).toEqual([
      expect.objectContaining({
        label: 'private',
        cause: 'policy',
        server: 'files',
        tool: 'read_file',
      }),
    ]);
    await client.close();
  });
});

export { refusal };

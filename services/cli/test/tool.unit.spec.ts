import { describe, expect, it } from 'vitest';
import type { CallViewData, ToolListResponse } from '@secai/tool-firewall/api';
import { CliError } from '../src/errors.js';
import { buildProgram } from '../src/program.js';
import {
  callLogLines,
  refusalLine,
  toolArguments,
  toolCallRequest,
  toolListLines,
} from '../src/commands/tool.js';

// The pure parts of `secai tool`: arguments from the command line, the request held to the
// firewall's contract, and how a refusal, the tools and the log read for a person. The answers
// are shaped by the firewall's api.ts types.

function refused(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error('no error was thrown');
}

describe('tool call arguments', () => {
  it('takes name=value as text and name:=json as a typed value', () => {
    expect(
      toolArguments(['path=/vault/user_docs/a=b.txt', 'case_sensitive:=true', 'n:=3', 'q=']),
    ).toEqual({ path: '/vault/user_docs/a=b.txt', case_sensitive: true, n: 3, q: '' });
  });

  it('takes --json as one object', () => {
    expect(toolArguments([], '{"path":"/vault/a"}')).toEqual({ path: '/vault/a' });
  });

  it.each([
    ['both ways at once', ['path=/a'], '{}', /not both/],
    ['--json that is not JSON', [], '{path', /--json is not JSON/],
    ['--json that is not an object', [], '[1]', /JSON object/],
    ['an --arg without =', ['path'], undefined, /--arg path: write name=value/],
    ['an --arg given twice', ['a=1', 'a=2'], undefined, /--arg a is given twice/],
    ['an --arg := that is not JSON', ['a:={'], undefined, /--arg a:= is not JSON/],
  ])('refuses %s (USAGE)', (_why, pairs, json, message) => {
    const err = refused(() => toolArguments(pairs, json));
    expect(err.code).toBe('USAGE');
    expect(err.message).toMatch(message);
  });

  it('holds the tool name to the contract before anything is sent', () => {
    expect(toolCallRequest('filesystem.read', { path: '/vault/a' })).toEqual({
      tool: 'filesystem.read',
      arguments: { path: '/vault/a' },
    });
    expect(refused(() => toolCallRequest('x'.repeat(2000), {})).message).toMatch(/TOOL/);
  });

  it('exits with USAGE before connecting when the arguments are wrong', async () => {
    const lines: string[] = [];
    const program = buildProgram({ out: (l) => lines.push(l), err: (l) => lines.push(l) });
    await expect(
      program.parseAsync(
        ['tool', 'call', 'filesystem.read', '--arg', 'path', '--state-dir', '/nonexistent'],
        { from: 'user' },
      ),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('how answers read', () => {
  it('names a refusal’s code, stage, rule, decision and call', () => {
    expect(
      refusalLine(403, {
        code: 'TOOL_DENIED',
        detail: 'filesystem.read is denied by r',
        stage: 'policy',
        ruleId: 'tools.allow.filesystem.read.paths_denylist',
        decisionId: 'dec-1#2',
        callId: 'call_1',
      }),
    ).toBe(
      '403 TOOL_DENIED: filesystem.read is denied by r; stage policy; rule tools.allow.filesystem.read.paths_denylist; decision dec-1#2; call call_1',
    );
    expect(refusalLine(502, {})).toBe('502 HTTP_ERROR: refused');
  });

  it('lists the tools with what the policy says', () => {
    const list: ToolListResponse = {
      policyDigest: null,
      tools: [
        {
          name: 'filesystem.read',
          description: 'd',
          arguments: { properties: { path: {} } },
          paths: [{ name: 'path', access: 'read', target: 'file' }],
          policy: 'allowed',
          allowedPaths: ['/vault/user_docs/**'],
          openai: {
            type: 'function',
            function: { name: 'filesystem_read', description: 'd', parameters: {} },
          },
        },
      ],
    };
    const [policy, table] = toolListLines(list);
    expect(policy).toBe('policy MISSING (no call runs)');
    expect(table).toContain('filesystem.read  allowed  /vault/user_docs/**  path');
  });

  it('shows why a call was refused in the log', () => {
    const base: CallViewData = {
      callId: 'c1',
      tool: 'filesystem.read',
      caller: 'service:agent',
      outcome: 'denied',
      stage: 'policy',
      code: 'TOOL_DENIED',
      ruleId: 'tools.deny.x',
      decisionIds: [],
      at: '2026-12-07T10:00:00.000Z',
      durationMs: null,
      outputBytes: null,
      truncated: null,
      redactions: null,
    };
    expect(callLogLines([base])[0]).toContain('policy TOOL_DENIED tools.deny.x');
    expect(callLogLines([])).toEqual(['no tool calls recorded']);
  });
});

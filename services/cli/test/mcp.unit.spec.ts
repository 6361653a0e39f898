import { describe, expect, it } from 'vitest';
import type { ApproveBody, ServersBody, SessionsBody, ToolsBody } from '@secai/mcp-firewall/api';
import { CliError } from '../src/errors.js';
import {
  MCP_FIREWALL,
  approveLines,
  approveRequest,
  clearTaintRequest,
  serversLines,
  sessionsLines,
  toolsLines,
} from '../src/commands/mcp.js';
import { gatewayUrl } from '../src/commands/gateway.js';

// The pure parts of `secai mcp`: requests held to the firewall's contract before connecting, and
// how its answers read for a person. The answers are typed by the firewall's api.ts, so a change
// of contract breaks this file's type check.

const D = (c: string) => `sha256:${c.repeat(64)}`;

function refused(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error('no error was thrown');
}

describe('secai mcp approve', () => {
  it('names one tool, or --all, never both or neither', () => {
    expect(approveRequest('files', 'read_file', { operator: 'ada' })).toEqual({
      server: 'files',
      tool: 'read_file',
      operator: 'ada',
    });
    expect(approveRequest('files', undefined, { operator: 'ada', all: true })).toEqual({
      server: 'files',
      all: true,
      operator: 'ada',
    });
    expect(refused(() => approveRequest('files', undefined, { operator: 'ada' })).code).toBe(
      'USAGE',
    );
    expect(refused(() => approveRequest('files', 'x', { operator: 'ada', all: true })).code).toBe(
      'USAGE',
    );
  });

  it('is refused by the option typed when out of the contract', () => {
    expect(refused(() => approveRequest('bad server', 'x', { operator: 'ada' })).message).toContain(
      'SERVER',
    );
    expect(
      refused(() => approveRequest('files', 'x', { operator: 'ada', digest: 'abc' })).message,
    ).toContain('--digest');
    expect(
      refused(() => approveRequest('files', 'x', { operator: 'a\u001b[2J' })).message,
    ).toContain('--operator');
  });

  it('reads as what was pinned and what was not, and why', () => {
    const body: ApproveBody = {
      pinned: [{ tool: 'read_file', digest: D('a'), previousDigest: null }],
      skipped: [{ tool: 'add', reasons: ['poisoned.hidden_instruction'] }],
    };
    expect(approveLines(body)).toEqual([
      'pinned read_file at sha256:aaaaaaaaaaaa',
      'not pinned add: poisoned.hidden_instruction',
    ]);
  });
});

describe('secai mcp clear-taint', () => {
  it('needs a reason; labels are policy names', () => {
    expect(clearTaintRequest({ operator: 'ada', reason: 'reviewed', labels: ['private'] })).toEqual(
      {
        operator: 'ada',
        reason: 'reviewed',
        labels: ['private'],
      },
    );
    expect(refused(() => clearTaintRequest({ operator: 'ada', reason: '' })).message).toContain(
      '--reason',
    );
    expect(
      refused(() => clearTaintRequest({ operator: 'ada', reason: 'r', labels: ['a b'] })).message,
    ).toContain('--label');
  });
});

describe('the views', () => {
  it('says when no MCP policy is in force', () => {
    const body: ServersBody = { policyDigest: null, problem: 'no policy is active', servers: [] };
    expect(serversLines(body)).toEqual([
      'no MCP policy in force: no policy is active (every call is refused)',
    ]);
  });

  it('lists servers, tools with why they are not listed, and sessions with their taint', () => {
    const servers: ServersBody = {
      policyDigest: D('b'),
      problem: null,
      servers: [
        {
          name: 'files',
          trust: 'trusted',
          transport: 'stdio',
          endpoint: 'node /opt/mcp/files.js',
          tools: { listed: 2, refused: 1, changed: 0 },
        },
      ],
    };
    expect(serversLines(servers).join('\n')).toContain('files');
    const tools: ToolsBody = {
      tools: [
        {
          server: 'web',
          name: 'add',
          state: 'refused',
          reasons: [
            { code: 'poisoned.concealment', detail: 'tool.description asks to hide something' },
          ],
          observed: {
            digest: D('c'),
            description: 'x',
            inputSchemaDigest: D('d'),
            outputSchemaDigest: null,
          },
          pinned: null,
        },
      ],
    };
    expect(toolsLines(tools).join('\n')).toContain('poisoned.concealment');
    const sessions: SessionsBody = {
      sessions: [
        {
          id: 'mcp_abcdefghijklmnopqrstuvwx',
          caller: 'service:agent',
          client: { name: 'agent', version: '1' },
          openedAt: '2030-01-01T00:00:00.000Z',
          closedAt: null,
          connected: false,
          taint: [{ label: 'private', server: 'files', cause: 'policy', callId: 'c', at: 't' }],
          lastAt: '2030-01-01T00:01:00.000Z',
        },
      ],
    };
    const text = sessionsLines(sessions).join('\n');
    expect(text).toContain('private');
    expect(text).toContain('resumable');
  });

  it('finds the firewall at the booted port, else the documented 8496', () => {
    const saved = process.env.SECAI_MCP_FIREWALL_URL;
    delete process.env.SECAI_MCP_FIREWALL_URL;
    try {
      expect(gatewayUrl(MCP_FIREWALL)).toBe('http://127.0.0.1:8496');
      expect(gatewayUrl(MCP_FIREWALL, undefined, 28496)).toBe('http://127.0.0.1:28496');
    } finally {
      if (saved !== undefined) process.env.SECAI_MCP_FIREWALL_URL = saved;
    }
  });
});

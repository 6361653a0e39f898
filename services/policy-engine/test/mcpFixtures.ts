import { sha256Hex, type McpCallInputData, type McpPolicy } from '@secai/contracts';
import type { PolicyDocuments } from '../src/index.js';
import { documents } from './fixtures.js';

/**
 * The reference's default MCP policy (§5.1), adapted to mcp.yaml: the filesystem, web-search and
 * calculator servers, plus a mail server with an outward tool for the toxic-flow rules.
 */
export function mcpPolicy(overrides: Partial<McpPolicy> = {}): McpPolicy {
  return {
    version: 1,
    default_action: 'deny',
    servers: [
      {
        name: 'filesystem',
        trust_level: 'trusted',
        command: ['node', '/opt/mcp/filesystem.js'],
        rate_limit: { requests_per_minute: 60, burst_size: 10 },
        resources: [
          { pattern: 'file:///home/user/*', action: 'allow', taint: ['private'] },
          { pattern: 'file:///home/user/drafts/**', action: 'ask' },
          { pattern: 'file:///home/*/secrets', action: 'deny' },
        ],
        tools: [
          {
            name: 'read_file',
            action: 'allow',
            arg_rules: [{ name: 'path', required: true, max_len: 512, pattern: '^/home/' }],
            path_restrict: ['/home/user'],
            taint: ['private'],
            outward: false,
          },
          {
            name: 'write_file',
            action: 'ask',
            arg_rules: [
              { name: 'path', required: true, max_len: 512 },
              { name: 'content', required: true, max_len: 100_000, redact: true },
            ],
            path_restrict: ['/home/user'],
            outward: false,
          },
          {
            name: 'list_directory',
            action: 'allow',
            arg_rules: [{ name: 'path', required: true }],
            path_restrict: ['/home/user'],
            outward: false,
          },
          { name: 'delete_file', action: 'deny', outward: false },
        ],
      },
      {
        name: 'web-search',
        trust_level: 'untrusted',
        url: 'http://127.0.0.1:9100/mcp',
        rate_limit: { requests_per_minute: 30, burst_size: 5 },
        tools: [
          {
            name: 'search',
            action: 'allow',
            arg_rules: [{ name: 'query', required: true, max_len: 1000 }],
            outward: true,
          },
        ],
      },
      {
        name: 'calculator',
        trust_level: 'trusted',
        command: ['/usr/bin/calc-mcp'],
        prompts: 'allow',
        tools: [
          {
            name: 'evaluate',
            action: 'allow',
            arg_rules: [
              { name: 'expression', required: true, max_len: 200, pattern: '^[0-9+\\-*/().\\s]+$' },
            ],
            outward: false,
          },
        ],
      },
      {
        name: 'mail',
        trust_level: 'verified',
        url: 'http://[::1]:9200/mcp',
        tools: [
          {
            name: 'send_email',
            action: 'allow',
            arg_rules: [
              { name: 'to', required: true, max_len: 256 },
              { name: 'body', max_len: 65_536, redact: true },
            ],
            outward: true,
          },
          // Declares no argument rules: any argument is accepted (and read by the global rules).
          { name: 'draft', action: 'allow', outward: false },
        ],
      },
    ],
    global_rules: [
      {
        name: 'block-shell-injection',
        match: { methods: ['tools/call'], arg_patterns: ['[;&|`$]'] },
        action: 'deny',
        reason: 'shell metacharacters in an argument',
      },
      {
        name: 'block-prompt-injection-in-args',
        match: {
          arg_patterns: [
            '(?i)(ignore|disregard)\\s+(all\\s+)?(previous|prior)\\s+instructions',
            '(?i)you\\s+are\\s+now\\s+(an?\\s+)?unrestricted',
          ],
        },
        action: 'deny',
        reason: 'an instruction-override phrase in an argument',
      },
    ],
    taint_rules: [
      {
        name: 'no-untrusted-to-write',
        match: { source_taint: ['untrusted'], target_tools: ['write_file'] },
        action: 'deny',
        reason: 'content from an untrusted source must not be written',
      },
      {
        name: 'no-untrusted-to-eval',
        match: { source_taint: ['untrusted'], target_tools: ['evaluate'] },
        action: 'deny',
        reason: 'content from an untrusted source must not be evaluated',
      },
    ],
    redaction: {
      patterns: ['api_key', 'bearer_token', 'password', 'aws_key', 'private_key', 'ssn'],
    },
    ...overrides,
  };
}

/** The engine's documents with that MCP document (null: none, as without mcp.yaml). */
export function withMcp(mcp: McpPolicy | null = mcpPolicy()): PolicyDocuments {
  return mcp === null ? documents() : { ...documents(), mcp };
}

/** An argument as the firewall sends it: the value in clear when given (≤ 2 KiB, not redacted). */
export function arg(
  name: string,
  value: string | undefined,
  bytes = value === undefined ? 4096 : Buffer.byteLength(value),
): McpCallInputData['arguments'][number] {
  const digest = `sha256:${sha256Hex(value ?? name)}`;
  return value === undefined ? { name, bytes, digest } : { name, bytes, digest, value };
}

/** A decide request for `mcp_call`, as the MCP firewall sends it (subject left to the engine). */
export function mcpRequest(
  mcp: Partial<McpCallInputData> & Pick<McpCallInputData, 'server' | 'method'>,
): { domain: 'mcp_call'; subject: string; mcp: McpCallInputData } {
  return { domain: 'mcp_call', subject: '', mcp: { arguments: [], taint: [], ...mcp } };
}

import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  McpPolicyError,
  canonicalJson,
  mcpPolicyOf,
  mcpRateLimitOf,
  mcpRedactionOf,
  mcpResourceMatches,
  mcpTaintOnExecute,
  sha256Hex,
  type McpPolicy,
} from '@secai/contracts';
import {
  DEFAULT_POLICY_DIR,
  PolicyError,
  formatPolicyProblem,
  loadPolicyDir,
  parsePolicyDocuments,
  snapshotFromDocuments,
  type PolicyProblem,
  type PolicySnapshot,
} from '../src/policy/index.js';
import { mcpPolicy } from './mcpFixtures.js';

// Loading mcp.yaml: optional, strict like the other two documents, every problem with its key
// path; the digest of a policy without it is what it was before mcp.yaml existed.

const read = (name: string) => readFileSync(join(DEFAULT_POLICY_DIR, name), 'utf8');
const POLICY = read('policy.yaml');
const AGENT = read('agent.yaml');
const MCP = read('mcp.yaml');
const DIR = '/etc/secai/policy';
const M = `${DIR}/mcp.yaml`;

function parse(mcp: string | null) {
  return parsePolicyDocuments([
    { path: `${DIR}/policy.yaml`, text: POLICY },
    { path: `${DIR}/agent.yaml`, text: AGENT },
    ...(mcp === null ? [] : [{ path: M, text: mcp }]),
  ]);
}
function snapshotOf(mcp: string | null): PolicySnapshot {
  const r = parse(mcp);
  if (!r.ok) throw new Error(r.problems.map(formatPolicyProblem).join('\n'));
  return r.snapshot;
}
/** The problems of an MCP document (given as data), as `path: code`. */
function problemsOf(doc: unknown): string[] {
  const r = parse(stringify(doc));
  if (r.ok) throw new Error('expected the MCP document to be refused');
  for (const p of r.problems) expect(p.file).toBe(M);
  return r.problems.map((p) => `${p.path}: ${p.code}`);
}
type KeyPath = (string | number)[];
const REMOVE = Symbol('remove');
/**
 * A copy of the test policy with values put at key paths (`REMOVE` deletes the key): documents
 * broken on purpose, wrong types included.
 */
function edited(...edits: [KeyPath, unknown][]): unknown {
  const doc: unknown = structuredClone(mcpPolicy());
  for (const [path, value] of edits) {
    type Node = Record<string | number, unknown>;
    const parent = path.slice(0, -1).reduce<unknown>((v, k) => (v as Node)[k], doc) as Node;
    const key = path[path.length - 1]!;
    if (value === REMOVE) delete parent[key];
    else parent[key] = value;
  }
  return doc;
}
const T = (server: number, tool: number): KeyPath => ['servers', server, 'tools', tool];

describe('the shipped mcp.yaml', () => {
  it('loads, knows no server, and keeps its rules ready', () => {
    const s = snapshotOf(MCP);
    const mcp = s.documents.mcp!;
    expect(mcp.default_action).toBe('deny');
    expect(mcp.servers).toEqual([]);
    expect(mcp.global_rules?.map((r) => r.name)).toEqual([
      'block-shell-injection',
      'block-prompt-injection-in-args',
    ]);
    expect(mcpRedactionOf(mcp)).not.toContain('email');
    expect(s.canonicalDocuments).toBe(
      canonicalJson({ agent: s.documents.agent, mcp, policy: s.documents.policy }),
    );
  });

  it('is read from the directory, and its absence is no problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secai-mcp-policy-'));
    try {
      await writeFile(join(dir, 'policy.yaml'), POLICY);
      await writeFile(join(dir, 'agent.yaml'), AGENT);
      const without = await loadPolicyDir(dir);
      expect(without.ok && without.snapshot.documents.mcp).toBeUndefined();
      expect(without.ok && without.snapshot.files.length).toBe(2);
      await writeFile(join(dir, 'mcp.yaml'), MCP);
      const withIt = await loadPolicyDir(dir);
      expect(withIt.ok && withIt.snapshot.files.map((f) => f.path)).toEqual(
        ['policy.yaml', 'agent.yaml', 'mcp.yaml'].map((f) => join(dir, f)),
      );
      expect(withIt.ok && withIt.snapshot.files[2]?.digest).toBe(`sha256:${sha256Hex(MCP)}`);
      // A present mcp.yaml is held to the same rules as the others: here, invalid UTF-8.
      await writeFile(join(dir, 'mcp.yaml'), Buffer.from([0x76, 0xff, 0x0a]));
      const broken = await loadPolicyDir(dir);
      expect(broken.ok ? [] : broken.problems).toEqual([
        { file: join(dir, 'mcp.yaml'), path: '', code: 'NOT_UTF8', message: 'not valid UTF-8' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the digest', () => {
  it('of a policy without mcp.yaml is unchanged: the canonical JSON of {agent, policy}', () => {
    const s = snapshotOf(null);
    const docs = JSON.parse(s.canonicalDocuments) as Record<string, unknown>;
    expect(Object.keys(docs)).toEqual(['agent', 'policy']);
    expect(s.digest).toBe(
      `sha256:${sha256Hex(canonicalJson({ agent: docs['agent'], policy: docs['policy'] }))}`,
    );
  });
  it('changes with mcp.yaml, and round-trips through policy.loaded', () => {
    const two = snapshotOf(null);
    const three = snapshotOf(MCP);
    expect(three.digest).not.toBe(two.digest);
    const again = snapshotFromDocuments(three.canonicalDocuments, three.digest);
    expect(again.documents.mcp).toEqual(three.documents.mcp);
    expect(snapshotFromDocuments(two.canonicalDocuments, two.digest).documents.mcp).toBeUndefined();
  });
  it('a replayed mcp document is validated again, with its file named', () => {
    const docs = JSON.parse(snapshotOf(MCP).canonicalDocuments) as {
      mcp: { default_action: string };
    };
    docs.mcp.default_action = 'allow';
    let error: unknown;
    try {
      snapshotFromDocuments(canonicalJson(docs));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect(
      (error as PolicyError).problems.map((p: PolicyProblem) => `${p.file}:${p.path}`),
    ).toEqual(['mcp.yaml:default_action']);
  });
});

describe('mcp.yaml is strict: each problem at its key path', () => {
  it('accepts the test policy (the reference default, adapted)', () =>
    expect(parse(stringify(mcpPolicy())).ok).toBe(true));

  it('refuses unknown keys, missing keys, wrong values and an allow-all default', () =>
    expect(
      problemsOf(
        edited(
          [['default_action'], 'allow'],
          [['servers', 0, 'toolz'], []],
          [[...T(0, 0), 'outward'], REMOVE], // outward must be stated, never assumed
          [[...T(0, 1), 'action'], 'require-approval'],
          [['servers', 1, 'trust_level'], 'sort-of'],
          [
            ['global_rules', 0, 'match', 'server_trust'],
            ['trusted', 'trusted'],
          ],
          [['global_rules', 1, 'match', 'methods'], ['tool/call']],
          [['taint_rules', 0, 'action'], 'warn'],
          [['redaction'], { enabled: true, patterns: ['all'] }],
        ),
      ).sort(),
    ).toEqual(
      [
        'default_action: VALUE_INVALID',
        'global_rules[0].match.server_trust[1]: DUPLICATE_ENTRY',
        'global_rules[1].match.methods[0]: VALUE_INVALID',
        'redaction.enabled: KEY_UNKNOWN',
        'redaction.patterns[0]: VALUE_INVALID',
        'servers[0].tools[0].outward: KEY_MISSING',
        'servers[0].tools[1].action: VALUE_INVALID',
        'servers[0].toolz: KEY_UNKNOWN',
        'servers[1].trust_level: VALUE_INVALID',
        'taint_rules[0].action: VALUE_INVALID',
      ].sort(),
    ));

  it('refuses a global rule whose match is empty (the original matched everything)', () =>
    expect(
      problemsOf(
        edited(
          [['global_rules', 0, 'match'], {}],
          [['global_rules', 1, 'match'], { has_taint: [], arg_patterns: [] }],
        ),
      ),
    ).toEqual(['global_rules[0].match: MCP_RULE_EMPTY', 'global_rules[1].match: MCP_RULE_EMPTY']));

  it('refuses regexes that do not compile in RE2, are too long or compile too large', () =>
    expect(
      problemsOf(
        edited(
          [
            ['global_rules', 0, 'match', 'arg_patterns'],
            ['(a)\\1', '(?=x)', 'a'.repeat(513), '.{300}'],
          ],
          [[...T(2, 0), 'arg_rules', 0, 'pattern'], '[unclosed'],
        ),
      ),
    ).toEqual([
      'global_rules[0].match.arg_patterns[2]: VALUE_INVALID',
      'servers[2].tools[0].arg_rules[0].pattern: REGEX_INVALID',
      'global_rules[0].match.arg_patterns[0]: REGEX_INVALID',
      'global_rules[0].match.arg_patterns[1]: REGEX_INVALID',
      'global_rules[0].match.arg_patterns[3]: REGEX_INVALID',
    ]));

  it('refuses servers that are not one loopback URL or one command', () => {
    const urls = [
      'http://localhost:9000/mcp',
      'http://10.0.0.5:9000/mcp',
      'https://127.0.0.1:9000/mcp',
      'http://user:pw@127.0.0.1:9000/mcp',
      'http://127.0.0.1:9000/mcp?token=x',
      'http://127.1:9000/mcp',
      'http://[::2]:9000/mcp',
    ];
    const web = mcpPolicy().servers[1]!;
    const problems = problemsOf(
      edited(
        [
          ['servers'],
          [
            ...urls.map((url, i) => ({ ...web, name: `s${i}`, url })),
            { ...web, name: 'both', command: ['x'] },
            { name: 'neither', trust_level: 'trusted' },
            { name: 'relative', trust_level: 'trusted', command: ['./server.js'] },
            { name: 'dotdot', trust_level: 'trusted', command: ['/opt/../bin/sh'] },
            { name: 'nul', trust_level: 'trusted', command: ['node', 'a\u0000b'] },
            { name: 'ok-v6', trust_level: 'trusted', url: 'http://[::1]:9000/mcp' },
            { name: 'ok-root', trust_level: 'trusted', url: 'http://127.0.0.2' },
          ],
        ],
        [['taint_rules'], []],
      ),
    );
    expect(problems).toEqual([
      ...urls.map((_, i) => `servers[${i}].url: MCP_URL_INVALID`),
      'servers[7]: MCP_TRANSPORT',
      'servers[8]: MCP_TRANSPORT',
      'servers[9].command[0]: MCP_COMMAND_INVALID',
      'servers[10].command[0]: MCP_COMMAND_INVALID',
      'servers[11].command[1]: MCP_COMMAND_INVALID',
    ]);
  });

  it('says how to write a URL that is loopback but not canonical', () => {
    const r = parse(stringify(edited([['servers', 1, 'url'], 'http://127.1:9100/mcp'])));
    expect(r.ok ? '' : r.problems[0]?.message).toBe(
      'write the URL in its canonical form: http://127.0.0.1:9100/mcp',
    );
  });

  it('refuses duplicates, a pattern on a redacted argument, bad path and resource patterns', () =>
    expect(
      problemsOf(
        edited(
          [['servers', 3, 'name'], 'filesystem'],
          [[...T(0, 2), 'name'], 'read_file'],
          [[...T(0, 1), 'arg_rules', 1, 'pattern'], '^x'],
          [[...T(0, 1), 'arg_rules', 2], { name: 'path' }],
          [
            [...T(0, 0), 'path_restrict'],
            ['/home/user/', 'relative', '/a/*/b'],
          ],
          [
            ['servers', 0, 'resources'],
            [
              { pattern: 'file:///a/**/b', action: 'allow' },
              { pattern: '/no/scheme', action: 'allow' },
              { pattern: 'file:///a/../b', action: 'allow' },
              { pattern: 'file:///a/**', action: 'allow' },
            ],
          ],
          [['global_rules', 1, 'name'], 'block-shell-injection'],
          [['taint_rules', 1, 'name'], 'no-untrusted-to-write'],
        ),
      ).sort(),
    ).toEqual(
      [
        'global_rules[1].name: MCP_DUPLICATE',
        'servers[0].resources[0].pattern: MCP_RESOURCE_PATTERN_INVALID',
        'servers[0].resources[1].pattern: MCP_RESOURCE_PATTERN_INVALID',
        'servers[0].resources[2].pattern: MCP_RESOURCE_PATTERN_INVALID',
        'servers[0].tools[0].path_restrict[0]: PATH_PATTERN_INVALID',
        'servers[0].tools[0].path_restrict[1]: VALUE_INVALID', // the schema: not absolute
        'servers[0].tools[0].path_restrict[2]: PATH_PATTERN_INVALID',
        'servers[0].tools[1].arg_rules[1].pattern: MCP_ARG_CONFLICT',
        'servers[0].tools[1].arg_rules[2].name: MCP_DUPLICATE',
        'servers[0].tools[2].name: MCP_DUPLICATE',
        'servers[3].name: MCP_DUPLICATE',
        'taint_rules[1].name: MCP_DUPLICATE',
      ].sort(),
    ));

  it('refuses taint rules that name servers or tools nobody declares (they would never apply)', () =>
    expect(
      problemsOf(
        edited(
          [
            ['taint_rules', 0, 'match', 'target_tools'],
            ['write_file', 'writefile'],
          ],
          [['taint_rules', 1, 'match', 'target_servers'], ['calculater']],
        ),
      ),
    ).toEqual([
      'taint_rules[0].match.target_tools[1]: MCP_REFERENCE_UNKNOWN',
      'taint_rules[1].match.target_servers[0]: MCP_REFERENCE_UNKNOWN',
    ]));

  it('is recognised by file name only, and named in the messages', () => {
    const r = parsePolicyDocuments([
      { path: `${DIR}/policy.yaml`, text: POLICY },
      { path: `${DIR}/agent.yaml`, text: AGENT },
      { path: `${DIR}/mcp.yml`, text: MCP },
    ]);
    expect(r.ok ? [] : r.problems).toEqual([
      {
        file: `${DIR}/mcp.yml`,
        path: '',
        code: 'FILE_UNEXPECTED',
        message:
          'unexpected policy file "mcp.yml": a policy is policy.yaml and agent.yaml, and optionally mcp.yaml',
      },
    ]);
    expect(problemsOf('servers: [')).toHaveLength(1);
  });
});

describe('what the MCP firewall reads (@secai/contracts)', () => {
  const s = snapshotOf(stringify(mcpPolicy()));
  it('mcpPolicyOf reads the mcp document from policy.loaded documents, or null without one', () => {
    const mcp = mcpPolicyOf(s.canonicalDocuments);
    expect(mcp).toEqual(s.documents.mcp);
    expect(mcpPolicyOf(JSON.parse(s.canonicalDocuments) as Record<string, unknown>)).toEqual(mcp);
    expect(mcpPolicyOf(snapshotOf(null).canonicalDocuments)).toBeNull();
  });
  it('mcpPolicyOf throws McpPolicyError on anything but a valid document', () => {
    for (const bad of ['{', '[]', canonicalJson({ mcp: { version: 1 } })]) {
      expect(() => mcpPolicyOf(bad), bad).toThrow(McpPolicyError);
    }
  });
  it('rate limits and redaction have their documented defaults', () => {
    const mcp = s.documents.mcp as McpPolicy;
    expect(mcpRateLimitOf(mcp.servers[0]!)).toEqual({ requests_per_minute: 60, burst_size: 10 });
    expect(mcpRateLimitOf(mcp.servers[2]!)).toEqual({ requests_per_minute: 120, burst_size: 20 });
    const withoutRedaction = { ...mcp };
    delete withoutRedaction.redaction;
    expect(mcpRedactionOf(withoutRedaction)).toEqual([
      'api_key',
      'bearer_token',
      'password',
      'aws_key',
      'private_key',
      'connection_string',
      'ssn',
    ]);
  });
  it('mcpTaintOnExecute: the tool or resource labels, and untrusted for an untrusted server', () => {
    const mcp = s.documents.mcp as McpPolicy;
    const resource = (r: string) =>
      mcpTaintOnExecute(mcp, { server: 'filesystem', method: 'resources/read', resource: r });
    expect(resource('file:///home/user/a')).toEqual(['private']);
    expect(resource('file:///home/user/drafts/a')).toEqual([]);
    expect(mcpTaintOnExecute(mcp, { server: 'web-search', method: 'prompts/get' })).toEqual([
      'untrusted',
    ]);
    expect(mcpTaintOnExecute(mcp, { server: 'web-search', method: 'tools/list' })).toEqual([]);
    expect(mcpTaintOnExecute(mcp, { server: 'nowhere', method: 'tools/call', tool: 'x' })).toEqual(
      [],
    );
  });
  it('mcpResourceMatches: * within one segment, a final /** at any depth, the rest literal', () => {
    expect(mcpResourceMatches('file:///a/*', 'file:///a/b')).toBe(true);
    expect(mcpResourceMatches('file:///a/*', 'file:///a/b/c')).toBe(false);
    expect(mcpResourceMatches('file:///a/*.md', 'file:///a/.md')).toBe(true);
    expect(mcpResourceMatches('file:///a/**', 'file:///a')).toBe(true);
    expect(mcpResourceMatches('file:///a/**', 'file:///a/b/c/d')).toBe(true);
    expect(mcpResourceMatches('file:///a/**', 'file:///ab')).toBe(false);
    expect(mcpResourceMatches('db://x?y', 'db://xzy')).toBe(false);
    expect(mcpResourceMatches(`file:///${'*a'.repeat(200)}b`, `file:///${'a'.repeat(2000)}`)).toBe(
      false,
    );
  });
});

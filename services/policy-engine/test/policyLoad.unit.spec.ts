import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { canonicalJson, sha256Hex } from '@secai/contracts';
import {
  DEFAULT_POLICY_DIR,
  MAX_POLICY_FILE_BYTES,
  POLICY_PROBLEM_CODES,
  PolicyError,
  destinationProblem,
  formatPolicyProblem,
  loadPolicyDir,
  parsePolicyDocuments,
  pathPatternProblem,
  snapshotFromDocuments,
  type PolicyDocuments,
  type PolicyProblem,
  type PolicySnapshot,
} from '../src/policy/index.js';

const POLICY = readFileSync(join(DEFAULT_POLICY_DIR, 'policy.yaml'), 'utf8');
const AGENT = readFileSync(join(DEFAULT_POLICY_DIR, 'agent.yaml'), 'utf8');
const P = '/etc/secai/policy/policy.yaml';
const A = '/etc/secai/policy/agent.yaml';

function parse(policy = POLICY, agent = AGENT) {
  return parsePolicyDocuments([
    { path: P, text: policy },
    { path: A, text: agent },
  ]);
}
function snapshotOf(policy = POLICY, agent = AGENT): PolicySnapshot {
  const r = parse(policy, agent);
  if (!r.ok)
    throw new Error(
      `expected a valid policy, got:\n${r.problems.map(formatPolicyProblem).join('\n')}`,
    );
  return r.snapshot;
}
function problemsOf(policy = POLICY, agent = AGENT): PolicyProblem[] {
  const r = parse(policy, agent);
  if (r.ok) throw new Error('expected the policy to be refused');
  return r.problems;
}
/** The one problem at `path` (fails if there is none, or more than one). */
function problemAt(problems: PolicyProblem[], file: string, path: string): PolicyProblem {
  const hits = problems.filter((p) => p.file === file && p.path === path);
  expect(hits, `problems: ${JSON.stringify(problems, null, 2)}`).toHaveLength(1);
  return hits[0] as PolicyProblem;
}
/** Mutable copies of the shipped documents. */
function shipped(): PolicyDocuments {
  return structuredClone(snapshotOf().documents);
}
type KeyPath = (string | number)[];
/** The value at `path` (test documents are edited through these, wrong types included). */
function at(root: unknown, path: KeyPath): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root);
}
function put(root: unknown, path: KeyPath, value: unknown): void {
  const parent = at(root, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1] as string | number] = value;
}
function del(root: unknown, path: KeyPath): void {
  const parent = at(root, path.slice(0, -1)) as Record<string | number, unknown>;
  delete parent[path[path.length - 1] as string | number];
}
function push(root: unknown, path: KeyPath, value: unknown): void {
  (at(root, path) as unknown[]).push(value);
}
/** An asymmetric matcher standing in for a message. */
function matching(re: RegExp): string {
  return expect.stringMatching(re) as string;
}
/** Replaces one exact piece of YAML text (and checks it was there). */
function edit(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reverseKeys(x)]),
    );
  }
  return v;
}
function deepFrozen(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  return Object.isFrozen(v) && Object.values(v).every(deepFrozen);
}

describe('the shipped default policy', () => {
  it('loads with no problems', () => {
    const s = snapshotOf();
    expect(s.version).toBe(1);
    expect(s.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(s.digest).toBe(`sha256:${sha256Hex(s.canonicalDocuments)}`);
    expect(s.canonicalDocuments).toBe(
      canonicalJson({ agent: s.documents.agent, policy: s.documents.policy }),
    );
    expect(s.files).toEqual([
      { path: P, digest: `sha256:${sha256Hex(POLICY)}`, sizeBytes: Buffer.byteLength(POLICY) },
      { path: A, digest: `sha256:${sha256Hex(AGENT)}`, sizeBytes: Buffer.byteLength(AGENT) },
    ]);
    const { policy, agent } = s.documents;
    expect(policy.defaults.network.runtime_egress).toBe('deny');
    expect(policy.models.allowed_formats).toEqual(['gguf', 'safetensors', 'diffusion-directory']);
    expect(policy.models.deny_formats).toEqual(['pickle', 'pt', 'bin']);
    expect(policy.tools.default).toBe('deny');
    expect(policy.tools.deny.map((d) => d.name)).toEqual([
      'shell.exec',
      'network.fetch',
      'process.spawn',
      'filesystem.delete',
    ]);
    expect(policy.airlock.enabled).toBe(false);
    expect(policy.airlock.allowed_destinations).toHaveLength(5);
    expect(policy.airlock.allowed_methods).toEqual(['GET']);
    expect(agent.default_mode).toBe('offline_only');
    expect(agent.workspace).toEqual({
      readable: ['/vault/user_docs/**', '/vault/outputs/**'],
      writable: ['/vault/outputs/**'],
    });
    expect(Object.keys(agent.budgets ?? {}).sort()).toEqual([
      'offline_only',
      'online_assisted',
      'sensitive',
      'standard',
    ]);
  });

  it('is deeply frozen', () => {
    const s = snapshotOf();
    expect(deepFrozen(s.documents)).toBe(true);
    expect(() => {
      (s.documents.policy.tools.allow as unknown as string[]).push('x');
    }).toThrow(TypeError);
  });

  it('loads from DEFAULT_POLICY_DIR with absolute file paths and the same digest', async () => {
    expect(DEFAULT_POLICY_DIR.endsWith(`${sep}services${sep}policy-engine${sep}policy`)).toBe(true);
    const r = await loadPolicyDir(DEFAULT_POLICY_DIR);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // The shipped directory also has mcp.yaml (test/mcpPolicyLoad.unit.spec.ts reads it).
    const mcp = readFileSync(join(DEFAULT_POLICY_DIR, 'mcp.yaml'), 'utf8');
    const withMcp = parsePolicyDocuments([
      { path: P, text: POLICY },
      { path: A, text: AGENT },
      { path: '/etc/secai/policy/mcp.yaml', text: mcp },
    ]);
    if (!withMcp.ok) throw new Error(withMcp.problems.map(formatPolicyProblem).join('\n'));
    expect(r.snapshot.digest).toBe(withMcp.snapshot.digest);
    expect(r.snapshot.files.map((f) => f.path)).toEqual([
      join(DEFAULT_POLICY_DIR, 'policy.yaml'),
      join(DEFAULT_POLICY_DIR, 'agent.yaml'),
      join(DEFAULT_POLICY_DIR, 'mcp.yaml'),
    ]);
    expect(r.snapshot.files[0]?.digest).toBe(`sha256:${sha256Hex(POLICY)}`);
  });
});

describe('the digest', () => {
  it('does not change with formatting, comments or key order', () => {
    const base = snapshotOf();
    const { policy, agent } = shipped();
    // Block style, key order reversed, comments added.
    const policyYaml = `# reformatted\n${stringify(reverseKeys(policy))}# end\n`;
    const agentYaml = stringify(reverseKeys(agent), { defaultCollectionStyle: 'flow' } as never);
    // JSON is YAML too.
    const agentJson = JSON.stringify(reverseKeys(agent), null, 4);
    const a = snapshotOf(policyYaml, agentYaml);
    const b = snapshotOf(policyYaml, agentJson);
    expect(a.digest).toBe(base.digest);
    expect(b.digest).toBe(base.digest);
    expect(a.canonicalDocuments).toBe(base.canonicalDocuments);
    // The raw-byte digests of the files do change.
    expect(a.files[0]?.digest).not.toBe(base.files[0]?.digest);
  });

  it('changes when a value changes', () => {
    const base = snapshotOf();
    const changed = snapshotOf(edit(POLICY, 'burst_size: 20', 'burst_size: 21'));
    expect(changed.digest).not.toBe(base.digest);
    const agentChanged = snapshotOf(POLICY, edit(AGENT, '  - explain\n', ''));
    expect(agentChanged.digest).not.toBe(base.digest);
  });
});

describe('schema problems name the key path', () => {
  it('an unknown key', () => {
    const { policy } = shipped();
    put(policy, ['tools', 'allow', 0, 'pathz'], ['/x']);
    const p = problemAt(problemsOf(stringify(policy)), P, 'tools.allow[0].pathz');
    expect(p.message).toMatch(/unknown key "pathz".*paths_allowlist/);
  });

  it('the original optional `agent:` block and merge keys are unknown keys', () => {
    const problems = problemsOf(`${POLICY}\nagent: {default_mode: standard}\n`);
    expect(problemAt(problems, P, 'agent').message).toMatch(/unknown key/);
    const merged = edit(
      POLICY,
      '    - name: filesystem.write\n',
      '    - <<: {name: x}\n      name: filesystem.write\n',
    );
    expect(problemAt(problemsOf(merged), P, 'tools.allow[1]["<<"]').message).toMatch(/unknown key/);
  });

  it('a `__proto__` key is an unknown key, not a prototype', () => {
    const problems = problemsOf(
      edit(POLICY, 'version: 1\n', 'version: 1\n__proto__: {polluted: true}\n'),
    );
    expect(problemAt(problems, P, '__proto__').message).toMatch(/unknown key/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a missing required section, once', () => {
    const { policy } = shipped();
    del(policy, ['tools']);
    const problems = problemsOf(stringify(policy));
    expect(problems).toEqual([
      { file: P, path: 'tools', code: 'KEY_MISSING', message: 'required key is missing' },
    ]);
  });

  it('a missing nested key', () => {
    const problems = problemsOf(edit(POLICY, 'network:\n    runtime_egress: deny', 'network: {}'));
    expect(problems).toEqual([
      {
        file: P,
        path: 'defaults.network.runtime_egress',
        code: 'KEY_MISSING',
        message: 'required key is missing',
      },
    ]);
  });

  it('wrong types, with the expected type', () => {
    const { policy } = shipped();
    put(policy, ['models', 'require_signature'], 'yes');
    put(policy, ['version'], '1');
    put(policy, ['defaults', 'network', 'runtime_egress'], 'open');
    put(policy, ['quarantine', 'behavior_max_score'], 0.5);
    put(policy, ['tools', 'allow'], { name: 'filesystem.read' });
    const problems = problemsOf(stringify(policy));
    expect(problemAt(problems, P, 'models.require_signature').message).toMatch(
      /expected boolean, got "yes"/i,
    );
    expect(problemAt(problems, P, 'version').message).toMatch(/expected integer, got "1"/i);
    expect(problemAt(problems, P, 'defaults.network.runtime_egress').message).toBe(
      'expected one of "deny", "allow", got "open"',
    );
    expect(problemAt(problems, P, 'quarantine.behavior_max_score').message).toMatch(
      /0\.3, got 0\.5/,
    );
    expect(problemAt(problems, P, 'tools.allow').message).toMatch(/expected array, got a mapping/i);
  });

  it('a document that is not a mapping', () => {
    expect(problemsOf('- a\n- b\n')).toEqual([
      {
        file: P,
        path: '',
        code: 'TYPE_MISMATCH',
        message: 'expected a mapping at the top of the document, got a list',
      },
    ]);
  });

  it('a duplicate list entry points at the duplicate', () => {
    const problems = problemsOf(
      POLICY,
      edit(AGENT, '  - explain\n', '  - explain\n  - summarize\n'),
    );
    expect(problemAt(problems, A, 'allowed_tools[5]').message).toMatch(
      /duplicate entry "summarize"/,
    );
  });

  it('budgets for an unknown (misspelt) mode', () => {
    const problems = problemsOf(POLICY, edit(AGENT, '  standard:\n', '  standrad:\n'));
    expect(problemAt(problems, A, 'budgets.standrad').message).toMatch(
      /unknown key.*offline_only, standard/,
    );
  });
});

describe('strict YAML', () => {
  it('a duplicate key is an error at its key path', () => {
    const problems = problemsOf(
      edit(POLICY, '    burst_size: 20\n', '    burst_size: 20\n    burst_size: 2000\n'),
    );
    expect(problemAt(problems, P, 'tools.rate_limit.burst_size').message).toMatch(
      /DUPLICATE_KEY.*unique.*line/,
    );
  });

  it('an alias bomb is refused', () => {
    const letters = 'abcdefghij';
    let bomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < letters.length; i++) {
      const prev = letters[i - 1] as string;
      bomb += `${letters[i]}: &${letters[i]} [${Array(10).fill(`*${prev}`).join(', ')}]\n`;
    }
    const problems = problemsOf(bomb);
    expect(problems).toHaveLength(1);
    expect(problemAt(problems, P, '').code).toBe('TOO_MANY_ALIASES');
  });

  it('a few aliases are fine', () => {
    const text = edit(
      POLICY,
      'paths_allowlist: [/vault/outputs/**]',
      'paths_allowlist: &out [/vault/outputs/**]',
    );
    const withAlias = `${text}\n# (alias use)\n`.replace(
      '    - name: filesystem.list\n      paths_allowlist: [/vault/user_docs/**, /vault/outputs/**]\n',
      '    - name: filesystem.list\n      paths_allowlist: [/vault/user_docs/**, /vault/outputs/**]\n    - name: filesystem.stat\n      paths_allowlist: *out\n',
    );
    expect(snapshotOf(withAlias).documents.policy.tools.allow[3]).toEqual({
      name: 'filesystem.stat',
      paths_allowlist: ['/vault/outputs/**'],
    });
  });

  it('a multi-document file is refused', () => {
    const problems = problemsOf(`${POLICY}---\nversion: 2\n`);
    expect(problems).toHaveLength(1);
    expect(problemAt(problems, P, '').message).toMatch(/2 YAML documents; exactly one/);
  });

  it('custom and YAML 1.1 tags are refused', () => {
    const problems = problemsOf(
      POLICY,
      edit(AGENT, 'default_mode: offline_only', 'default_mode: !!js/function offline_only'),
    );
    expect(problemAt(problems, A, 'default_mode').message).toMatch(/TAG_RESOLVE_FAILED/);
    const binary = problemsOf(edit(POLICY, 'version: 1', 'version: !!binary AQ=='));
    expect(problemAt(binary, P, 'version').message).toMatch(/TAG_RESOLVE_FAILED/);
  });

  it('a syntax error is reported with its line', () => {
    const problems = problemsOf(edit(POLICY, 'allowed_methods: [GET]', 'allowed_methods: [GET'));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.file === P)).toBe(true);
    expect(problems[0]?.message).toMatch(/line \d+/);
  });

  it('an empty file is refused', () => {
    expect(problemsOf('# nothing but a comment\n')).toEqual([
      {
        file: P,
        path: '',
        code: 'NO_DOCUMENT',
        message: matching(/no YAML document/),
      },
    ]);
  });

  it('an oversized file is refused as a whole-file problem', () => {
    const big = `${POLICY}\n${'#'.repeat(100)}\n`.repeat(
      Math.ceil(MAX_POLICY_FILE_BYTES / POLICY.length) + 1,
    );
    const problems = problemsOf(big);
    expect(problems).toHaveLength(1);
    expect(problemAt(problems, P, '').message).toMatch(
      /too large: \d+ bytes; the limit is 262144 bytes/,
    );
  });
});

describe('semantic problems', () => {
  it('a path pattern with `..`', () => {
    const problems = problemsOf(
      edit(
        POLICY,
        'paths_allowlist: [/vault/user_docs/**]',
        'paths_allowlist: [/vault/user_docs/../../etc/**]',
      ),
      edit(AGENT, 'writable: [/vault/outputs/**]', 'writable: [/vault/outputs, vault/relative]'),
    );
    expect(problemAt(problems, P, 'tools.allow[0].paths_allowlist[0]').message).toMatch(
      /"\.\." segments/,
    );
    // Relative: refused once (by the schema), not twice.
    expect(problemAt(problems, A, 'workspace.writable[1]').message).toMatch(/match '\^\/'/);
    expect(problems).toHaveLength(2);
  });

  it.each([
    ['/vault/user_docs/**', undefined],
    ['/vault/user_docs', undefined],
    ['/etc/shadow', undefined],
    ['/', undefined],
    ['/**', undefined],
    ['vault/x', /absolute/],
    ['/vault/../etc', /"\.\."/],
    ['/vault/./x', /"\."/],
    ['/vault//x', /"\/\/"/],
    ['/vault/x\u0000y', /NUL/],
    ['/vault\\x', /backslash/],
    ['/vault/*', /trailing "\/\*\*"/],
    ['/vault/**/x', /trailing "\/\*\*"/],
    ['/vault**', /trailing "\/\*\*"/],
    ['/vault/', /must not end with "\/"/],
    ['/vault/%2e%2e/etc', /matcher refuses: percent_encoded/],
    ['/vault/\u2215etc', /matcher refuses: unicode_slash/],
  ])('path pattern %j', (pattern, expected) => {
    const problem = pathPatternProblem(pattern);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });

  it('overlapping allowed and denied formats', () => {
    const problems = problemsOf(
      edit(POLICY, 'deny_formats: [pickle, pt, bin]', 'deny_formats: [pickle, pt, bin, gguf]'),
    );
    expect(problemAt(problems, P, 'models.deny_formats[3]').message).toMatch(
      /"gguf" is also in models.allowed_formats/,
    );
  });

  it('a tool both allowed and denied, and a tool allowed twice', () => {
    const { policy } = shipped();
    push(policy, ['tools', 'deny'], { name: 'filesystem.read' });
    push(policy, ['tools', 'allow'], { name: 'filesystem.list' });
    const problems = problemsOf(stringify(policy));
    expect(problemAt(problems, P, 'tools.deny[4].name').message).toMatch(
      /also allowed by tools.allow\[0\]/,
    );
    expect(problemAt(problems, P, 'tools.allow[5].name').message).toMatch(
      /already has an allow entry \(tools.allow\[2\]\)/,
    );
  });

  it('a destination with userinfo', () => {
    const problems = problemsOf(
      edit(POLICY, '- https://registry.ollama.ai/', '- https://user:secret@registry.ollama.ai/'),
    );
    expect(problemAt(problems, P, 'airlock.allowed_destinations[1]').message).toMatch(/userinfo/);
  });

  it.each([
    ['https://huggingface.co/', undefined],
    ['https://huggingface.co', undefined],
    ['https://huggingface.co:8443/models/org', undefined],
    ['https://[::1]:8443/', undefined],
    ['huggingface.co', undefined],
    ['bücher.example', undefined],
    ['http://huggingface.co/', /https/],
    ['ftp://huggingface.co/', /https/],
    ['https://user@huggingface.co/', /userinfo/],
    ['https://huggingface.co/?a=1', /query/],
    ['https://huggingface.co/#x', /fragment/],
    ['https:///huggingface.co', /name a host/],
    ['https://huggingface.co:99999/', /not a valid URL/],
    ['https://huggingface.co/a/../b', /"\.\." segments/],
    ['https://huggingface.co/a/%2e%2E/b', /"\.\." segments/],
    ['https://huggingface.co/a%2fb', /encoded/],
    ['https://huggingface.co//a', /empty segments/],
    ['https://huggingface.co\\@evil.example/', /backslash/],
    ['https://*.huggingface.co/', /wildcards/],
    ['huggingface.co:443', /bare host/],
    ['huggingface.co/models', /bare host/],
    ['user@huggingface.co', /bare host/],
    ['huggingface .co', /whitespace/],
    ['exa<mple.com', /not a valid host/],
  ])('destination %j', (destination, expected) => {
    const problem = destinationProblem(destination);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });

  it('agent lists that are not pairwise disjoint', () => {
    const agent = edit(
      edit(AGENT, '  - model_import\n', '  - model_import\n  - shell_exec\n'),
      '  - explain\n',
      '  - explain\n  - file_write\n  - vault_unlock\n',
    );
    const problems = problemsOf(POLICY, agent);
    expect(problemAt(problems, A, 'hard_approval[4]').message).toMatch(
      /"shell_exec" is also in always_deny\[0\]/,
    );
    expect(problemAt(problems, A, 'allowed_tools[5]').message).toMatch(
      /"file_write" is also in hard_approval\[0\]/,
    );
    expect(problemAt(problems, A, 'allowed_tools[6]').message).toMatch(
      /"vault_unlock" is also in always_deny\[6\]/,
    );
    expect(problems).toHaveLength(3);
  });
});

describe('all problems at once', () => {
  it('reports the problems of both files together, schema and semantic alike', () => {
    const { policy, agent } = shipped();
    put(policy, ['tools', 'allow', 0, 'pathz'], []);
    push(policy, ['models', 'deny_formats'], 'safetensors');
    del(policy, ['sensitivity']);
    put(agent, ['default_mode'], 'turbo');
    push(agent, ['workspace', 'readable'], '/vault/../etc/**');
    const problems = problemsOf(stringify(policy), stringify(agent));
    expect(problems.map((p) => `${p.file === P ? 'policy' : 'agent'}:${p.path}`).sort()).toEqual([
      'agent:default_mode',
      'agent:workspace.readable[2]',
      'policy:models.deny_formats[3]',
      'policy:sensitivity',
      'policy:tools.allow[0].pathz',
    ]);
  });

  it('reports a YAML error in one file with the schema errors of the other', () => {
    const problems = problemsOf(`${POLICY}---\n`, edit(AGENT, 'version: 1', 'version: 0'));
    expect(problemAt(problems, P, '').message).toMatch(/YAML documents/);
    expect(problemAt(problems, A, 'version').message).toMatch(/greater or equal to 1, got 0/);
  });

  it('recognises the two documents by file name', () => {
    const extra = parsePolicyDocuments([
      { path: '/x/agent.yaml', text: AGENT },
      { path: '/x/extra.yaml', text: 'a: 1\n' },
      { path: '/x/agent.yaml', text: AGENT },
    ]);
    expect(extra.ok).toBe(false);
    if (extra.ok) return;
    expect(extra.problems).toEqual([
      {
        file: '/x/extra.yaml',
        path: '',
        code: 'FILE_UNEXPECTED',
        message: matching(/unexpected policy file "extra.yaml"/),
      },
      {
        file: '/x/agent.yaml',
        path: '',
        code: 'FILE_DUPLICATE',
        message: matching(/given twice/),
      },
      {
        file: 'policy.yaml',
        path: '',
        code: 'FILE_MISSING',
        message: matching(/policy.yaml is missing/),
      },
    ]);
  });

  it('keeps the files in the order given', () => {
    const r = parsePolicyDocuments([
      { path: A, text: AGENT },
      { path: P, text: POLICY },
    ]);
    expect(r.ok && r.snapshot.files.map((f) => f.path)).toEqual([A, P]);
    expect(r.ok && r.snapshot.digest).toBe(snapshotOf().digest);
  });
});

describe('snapshotFromDocuments', () => {
  it('round-trips a snapshot', () => {
    const s = snapshotOf();
    const r = snapshotFromDocuments(s.canonicalDocuments, s.digest);
    expect(r.digest).toBe(s.digest);
    expect(r.version).toBe(s.version);
    expect(r.documents).toEqual(s.documents);
    expect(r.canonicalDocuments).toBe(s.canonicalDocuments);
    expect(r.files).toEqual([]);
    expect(deepFrozen(r.documents)).toBe(true);
  });

  function refusal(fn: () => unknown): PolicyError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      return err as PolicyError;
    }
    throw new Error('expected a PolicyError');
  }

  it('refuses altered documents', () => {
    const s = snapshotOf();
    const altered = s.canonicalDocuments.replace('"burst_size":20', '"burst_size":21');
    expect(altered).not.toBe(s.canonicalDocuments);
    expect(snapshotFromDocuments(altered).digest).not.toBe(s.digest); // valid, but another policy
    const e = refusal(() => snapshotFromDocuments(altered, s.digest));
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.message).toMatch(/expected sha256:/);
  });

  it('refuses documents that fail validation, with key paths', () => {
    const s = snapshotOf();
    const docs: unknown = JSON.parse(s.canonicalDocuments);
    put(docs, ['policy', 'tools', 'allow', 0, 'pathz'], []);
    push(docs, ['agent', 'hard_approval'], 'shell_exec');
    const e = refusal(() => snapshotFromDocuments(canonicalJson(docs)));
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.problems.map((p) => `${p.file}:${p.path}`).sort()).toEqual([
      'agent.yaml:hard_approval[4]',
      'policy.yaml:tools.allow[0].pathz',
    ]);
  });

  it('refuses malformed, non-canonical or incomplete JSON', () => {
    const s = snapshotOf();
    expect(refusal(() => snapshotFromDocuments(s.canonicalDocuments.slice(0, -1))).code).toBe(
      'POLICY_INVALID',
    );
    const pretty = JSON.stringify(JSON.parse(s.canonicalDocuments), null, 2);
    expect(refusal(() => snapshotFromDocuments(pretty)).problems[0]?.message).toMatch(
      /not canonical/,
    );
    const docs = JSON.parse(s.canonicalDocuments) as Record<string, unknown>;
    const noAgent = refusal(() => snapshotFromDocuments(canonicalJson({ policy: docs['policy'] })));
    expect(noAgent.problems).toEqual([
      {
        file: 'agent.yaml',
        path: '',
        code: 'TYPE_MISMATCH',
        message: 'expected a mapping at the top of the document, got nothing',
      },
    ]);
    const extra = refusal(() => snapshotFromDocuments(canonicalJson({ ...docs, extra: {} })));
    expect(extra.problems).toEqual([
      {
        file: 'canonicalDocuments',
        path: 'extra',
        code: 'KEY_UNKNOWN',
        message: 'unknown document',
      },
    ]);
    expect(refusal(() => snapshotFromDocuments('[]')).code).toBe('POLICY_INVALID');
    expect(refusal(() => snapshotFromDocuments(' '.repeat(300_000))).code).toBe('POLICY_TOO_LARGE');
  });
});

describe('loadPolicyDir', () => {
  async function withDir(
    files: Record<string, string>,
    fn: (dir: string) => Promise<void>,
  ): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'secai-policy-'));
    try {
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
      await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('reports a missing agent.yaml as a whole-file problem', async () => {
    await withDir({ 'policy.yaml': POLICY }, async (dir) => {
      const r = await loadPolicyDir(dir);
      expect(r).toEqual({
        ok: false,
        problems: [
          {
            file: join(dir, 'agent.yaml'),
            path: '',
            code: 'FILE_MISSING',
            message: 'file is missing',
          },
        ],
      });
    });
  });

  it('reports an unreadable file together with the problems of the other', async () => {
    await withDir({ 'policy.yaml': edit(POLICY, 'version: 1', 'version: one') }, async (dir) => {
      const r = await loadPolicyDir(dir);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.problems.map((p) => [p.file, p.path])).toEqual([
        [join(dir, 'agent.yaml'), ''],
        [join(dir, 'policy.yaml'), 'version'],
      ]);
    });
  });

  it('refuses an oversized file without parsing it', async () => {
    await withDir(
      { 'policy.yaml': `${POLICY}#${'x'.repeat(MAX_POLICY_FILE_BYTES)}\n`, 'agent.yaml': AGENT },
      async (dir) => {
        const r = await loadPolicyDir(dir);
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.problems).toEqual([
          {
            file: join(dir, 'policy.yaml'),
            path: '',
            code: 'TOO_LARGE',
            message: matching(/^too large/),
          },
        ]);
      },
    );
  });

  it('refuses invalid UTF-8', async () => {
    await withDir({ 'agent.yaml': AGENT }, async (dir) => {
      await writeFile(
        join(dir, 'policy.yaml'),
        Buffer.concat([Buffer.from(POLICY), Buffer.from([0xff, 0xfe, 0x0a])]),
      );
      const r = await loadPolicyDir(dir);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.problems).toEqual([
        { file: join(dir, 'policy.yaml'), path: '', code: 'NOT_UTF8', message: 'not valid UTF-8' },
      ]);
    });
  });

  it('loads a valid directory with absolute paths', async () => {
    await withDir({ 'policy.yaml': POLICY, 'agent.yaml': AGENT }, async (dir) => {
      const r = await loadPolicyDir(dir);
      expect(r.ok && r.snapshot.files).toEqual([
        {
          path: join(dir, 'policy.yaml'),
          digest: `sha256:${sha256Hex(POLICY)}`,
          sizeBytes: Buffer.byteLength(POLICY),
        },
        {
          path: join(dir, 'agent.yaml'),
          digest: `sha256:${sha256Hex(AGENT)}`,
          sizeBytes: Buffer.byteLength(AGENT),
        },
      ]);
    });
  });
});

describe('the problem code catalogue', () => {
  it('documents every policy problem code in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of POLICY_PROBLEM_CODES) expect(readme).toContain(`\`${code}\``);
  });
});

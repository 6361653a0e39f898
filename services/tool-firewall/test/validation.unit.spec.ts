import { describe, expect, it } from 'vitest';
import {
  ARGUMENT_LIMITS,
  FILESYSTEM_ADAPTERS,
  ToolFirewallError,
  checkAdapterArguments,
  checkArgumentTree,
  checkPathText,
  checkToolName,
  dangerOf,
  parseArgumentText,
  summarizeArguments,
  toDisk,
  toLogical,
  type ToolAdapter,
} from '../src/index.js';

/** An asymmetric matcher, typed as what it stands for. */
const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string;

// The rules a call must pass before anything is asked or opened: given the input, the refusal
// (or the normalised value) it gets.

const adapter = (name: string): ToolAdapter => FILESYSTEM_ADAPTERS.find((a) => a.name === name)!;

function refused(f: () => unknown): ToolFirewallError {
  try {
    f();
  } catch (err) {
    if (err instanceof ToolFirewallError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('tool names', () => {
  it.each(['filesystem.read', 'mcp:fs-1', 'a'])('accepts %s', (name) => {
    expect(checkToolName(name)).toBe(name);
  });
  it.each([
    '',
    ' filesystem.read',
    'file system',
    'fs/read',
    'fs\u0000read',
    'x'.repeat(129),
    'ｆs',
  ])('refuses %j', (name) => {
    const e = refused(() => checkToolName(name));
    expect(e.code).toBe('TOOL_NAME_INVALID');
    expect(e.details.stage).toBe('validation');
  });
});

describe('argument trees', () => {
  const deep = (n: number) => {
    let v: unknown = 'x';
    for (let i = 0; i < n; i++) v = { a: v };
    return v as Record<string, unknown>;
  };
  it('takes no arguments as {}', () => expect(checkArgumentTree(undefined, 100)).toEqual({}));
  it.each([
    ['an array', [1]],
    ['a string', 'path'],
    ['null', null],
    [
      'too many parameters',
      Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 1])),
    ],
    ['too deep', deep(ARGUMENT_LIMITS.maxDepth)],
    [
      'too many nodes',
      { a: Array.from({ length: 40 }, () => Array.from({ length: 300 }, () => 1)) },
    ],
    [
      'an object of too many members',
      { a: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`m${i}`, 1])) },
    ],
    ['an array too long', { a: Array.from({ length: 4097 }, () => 0) }],
    ['an empty key', { '': 1 }],
    ['a key with surrounding space', { ' path': 1 }],
    ['a key with a control character', { 'pa\nth': 1 }],
    ['a __proto__ key', JSON.parse('{"a":{"__proto__":{"x":1}}}') as Record<string, unknown>],
    ['a key longer than 256 bytes', { ['k'.repeat(257)]: 1 }],
    ['a string over the budget', { a: 'x'.repeat(101) }],
  ])('refuses %s', (_why, value) => {
    expect(refused(() => checkArgumentTree(value, 100)).code).toBe('ARGUMENTS_INVALID');
  });
  it('accepts a tree at the limits', () => {
    expect(() => checkArgumentTree(deep(ARGUMENT_LIMITS.maxDepth - 1), 100)).not.toThrow();
  });
});

describe('OpenAI arguments text', () => {
  it('parses JSON, an empty text is no arguments', () => {
    expect(parseArgumentText('{"path":"/vault/a"}')).toEqual({ path: '/vault/a' });
    expect(parseArgumentText('  ')).toEqual({});
  });
  it('refuses text that is not JSON, and text too deep, before parsing it', () => {
    expect(refused(() => parseArgumentText('{path: 1}')).code).toBe('ARGUMENTS_INVALID');
    expect(refused(() => parseArgumentText('['.repeat(100_000))).code).toBe('ARGUMENTS_INVALID');
  });
});

describe('dangerous argument names', () => {
  it.each([
    ['password', 'credential'],
    ['api_key', 'credential'],
    ['X-Auth-Token', 'credential'],
    ['key', 'credential'],
    ['cmd', 'command'],
    ['shell_command', 'command'],
    ['requestUrl', 'command'],
    ['content', 'command'],
    ['http_headers', 'command'],
    ['file_path', 'path'],
    ['destination', 'path'],
  ])('%s is %s-like', (name, kind) => expect(dangerOf(name)).toBe(kind));
  it.each(['query', 'case_sensitive', 'limit', 'monkey'])('%s is ordinary', (name) =>
    expect(dangerOf(name)).toBeNull(),
  );
});

describe('path text', () => {
  it.each([
    ['/vault/user_docs/a.txt', '/vault/user_docs/a.txt'],
    ['/vault/user_docs/./b/../a.txt', '/vault/user_docs/a.txt'],
    ['/vault//user_docs/', '/vault/user_docs'],
    ['/vault/user_docs/../../etc/passwd', '/etc/passwd'],
    ['/../../vault', '/vault'],
    ['/vault/user_docs/café.txt', '/vault/user_docs/café.txt'],
  ])('normalises %j to %j', (raw, logical) => {
    expect(checkPathText(raw)).toEqual({ ok: true, logical });
  });

  it.each([
    ['a percent-encoded traversal', '/vault/user_docs/%2e%2e/%2e%2e/etc/passwd', 'PATH_ENCODING'],
    ['a double-encoded traversal', '/vault/user_docs/%252e%252e/secret', 'PATH_ENCODING'],
    ['an encoded slash', '/vault/user_docs/..%2fetc', 'PATH_ENCODING'],
    ['an encoded NUL', '/vault/user_docs/a%00.txt', 'PATH_ENCODING'],
    ['a raw NUL', '/vault/user_docs/a\u0000.txt', 'PATH_ENCODING'],
    ['a newline', '/vault/user_docs/a\n.txt', 'PATH_ENCODING'],
    ['a C1 control', '/vault/user_docs/a\u0085.txt', 'PATH_ENCODING'],
    ['a backslash', '/vault/user_docs\\..\\secret', 'PATH_ENCODING'],
    ['a division slash', '/vault/user_docs/..\u2215..\u2215etc', 'PATH_ENCODING'],
    ['a fraction slash', '/vault/user_docs/..\u2044x', 'PATH_ENCODING'],
    ['a full-width slash', '/vault/user_docs/..\uff0fetc', 'PATH_ENCODING'],
    ['a full-width dot', '/vault/user_docs/\uff0e\uff0e/etc', 'PATH_ENCODING'],
    ['a one-dot leader', '/vault/user_docs/\u2024\u2024/etc', 'PATH_ENCODING'],
    ['a combining mark', '/vault/user_docs/e\u0301.txt', 'PATH_ENCODING'],
    ['a replacement character', '/vault/user_docs/\ufffd', 'PATH_ENCODING'],
    ['a lone surrogate', '/vault/user_docs/\ud800', 'PATH_ENCODING'],
    ['a ligature NFKC would change', '/vault/user_docs/\ufb01le', 'PATH_ENCODING'],
    ['a malformed escape', '/vault/%zz%e0%a4%a', 'PATH_ENCODING'],
    // The engine's rule: any '%' is refused (the engine refused this one before too, a round trip later).
    ['a bare percent sign', '/vault/user_docs/100% done.txt', 'PATH_ENCODING'],
    ['a relative path', 'vault/user_docs/a', 'PATH_INVALID'],
    ['an empty path', '', 'PATH_INVALID'],
    ['an over-long path', `/vault/${'a'.repeat(5000)}`, 'PATH_INVALID'],
  ])('refuses %s', (_why, raw, code) => {
    const r = checkPathText(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(code);
  });

  it('says how many rounds of percent-encoding it saw', () => {
    const r = checkPathText('/vault/%25252e');
    expect(!r.ok && r.reason).toMatch(/3 rounds/);
  });
});

describe('logical ↔ disk', () => {
  it('maps /vault and below onto the root, nothing else', () => {
    expect(toDisk('/vault', '/srv/ws')).toBe('/srv/ws');
    expect(toDisk('/vault/user_docs/a', '/srv/ws')).toBe('/srv/ws/user_docs/a');
    expect(toDisk('/vault_evil/a', '/srv/ws')).toBeNull();
    expect(toDisk('/etc/passwd', '/srv/ws')).toBeNull();
  });
  it('maps a real path back only inside the root, at a boundary', () => {
    expect(toLogical('/srv/ws/outputs/x', '/srv/ws')).toBe('/vault/outputs/x');
    expect(toLogical('/srv/ws', '/srv/ws')).toBe('/vault');
    expect(toLogical('/srv/ws-other/x', '/srv/ws')).toBeNull();
    expect(toLogical('/etc/shadow', '/srv/ws')).toBeNull();
  });
});

describe('adapter arguments', () => {
  it('accepts what filesystem.write declares and returns its logical path', () => {
    const checked = checkAdapterArguments(adapter('filesystem.write'), {
      path: '/vault/outputs/./a.md',
      content: 'text',
    });
    expect(checked.paths.get('path')).toBe('/vault/outputs/a.md');
  });

  it.each([
    [
      'an undeclared ordinary argument',
      'filesystem.read',
      { path: '/vault/a', offset: 3 },
      'ARGUMENT_UNDECLARED',
    ],
    [
      'an undeclared credential',
      'filesystem.read',
      { path: '/vault/a', api_key: 'x' },
      'ARGUMENT_DANGEROUS',
    ],
    [
      'an undeclared command',
      'filesystem.list',
      { path: '/vault/a', cmd: 'rm -rf /' },
      'ARGUMENT_DANGEROUS',
    ],
    [
      'content on a read',
      'filesystem.read',
      { path: '/vault/a', content: 'x' },
      'ARGUMENT_DANGEROUS',
    ],
    ['a missing path', 'filesystem.read', {}, 'ARGUMENT_INVALID'],
    ['a path of the wrong type', 'filesystem.read', { path: ['/vault/a'] }, 'ARGUMENT_INVALID'],
    ['an encoded path', 'filesystem.hash', { path: '/vault/%2e%2e/x' }, 'PATH_ENCODING'],
    ['a relative path', 'filesystem.hash', { path: 'x' }, 'PATH_INVALID'],
    [
      'a query with a control character',
      'filesystem.search',
      { path: '/vault', query: 'a\u0007' },
      'ARGUMENT_INVALID',
    ],
    ['an empty query', 'filesystem.search', { path: '/vault', query: '' }, 'ARGUMENT_INVALID'],
  ])('refuses %s', (_why, tool, args, code) => {
    expect(refused(() => checkAdapterArguments(adapter(tool), args)).code).toBe(code);
  });
});

describe('argument summaries (what events show)', () => {
  it('shows a path and scalars, never another string: a content is its length and digest', () => {
    const s = summarizeArguments(
      { path: '/vault/outputs/a.md', content: 'password=hunter2 and the rest', force: true },
      new Set(['path']),
    );
    expect(s.summary).toEqual([
      expect.objectContaining({ name: 'path', kind: 'path', value: '/vault/outputs/a.md' }),
      { name: 'content', kind: 'string', bytes: 29, digest: matching(/^sha256:/) },
      expect.objectContaining({ name: 'force', kind: 'boolean', value: 'true' }),
    ]);
    expect(JSON.stringify(s)).not.toContain('hunter2');
  });

  it('redacts a secret that travels in a path', () => {
    const s = summarizeArguments({ path: '/vault/password=hunter2' }, new Set(['path']));
    expect(s.summary?.[0]?.value).toBe('/vault/password=[REDACTED:password]');
  });

  it('gives only the digest and size of arguments that could not be read', () => {
    expect(summarizeArguments(null, new Set(), '[1,2]')).toEqual({
      digest: matching(/^sha256:[0-9a-f]{64}$/),
      bytes: 5,
      summary: null,
    });
  });
});

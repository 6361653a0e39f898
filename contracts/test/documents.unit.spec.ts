import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DOCUMENT_PROBLEM_CODES,
  DocumentError,
  capProblems,
  formatProblem,
  loadStrictDocument,
  parseStrictYaml,
  readDocumentFile,
  type DocumentLimits,
  type DocumentProblem,
} from '../src/documents/index.js';

const closed = { additionalProperties: false } as const;
const RulesSchema = Type.Object(
  {
    version: Type.Literal(1),
    mode: Type.Union([Type.Literal('deny'), Type.Literal('allow')]),
    rules: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 32 }),
          match: Type.Object(
            { path: Type.String({ pattern: '^/' }), depth: Type.Optional(Type.Integer()) },
            closed,
          ),
        },
        closed,
      ),
      { maxItems: 16 },
    ),
    tags: Type.Optional(Type.Array(Type.String(), { uniqueItems: true })),
  },
  closed,
);

const LIMITS: DocumentLimits = { maxBytes: 4096, maxDepth: 6, maxAliases: 4 };
const VALID = `version: 1
mode: deny
rules:
  - id: a
    match: { path: /srv }
  - id: b
    match: { path: /opt, depth: 2 }
`;

/** given `text`, when loaded against the rules schema, then these problems (path, code). */
function problemsOf(text: string, limits: DocumentLimits = LIMITS): [string, string][] {
  const r = loadStrictDocument(text, RulesSchema, limits);
  if (r.ok) throw new Error('expected the document to be refused');
  return r.problems.map((p) => [p.path, p.code]);
}

describe('loadStrictDocument', () => {
  it('given a valid document, returns the typed value', () => {
    const r = loadStrictDocument(VALID, RulesSchema, LIMITS);
    expect(r).toEqual({
      ok: true,
      value: {
        version: 1,
        mode: 'deny',
        rules: [
          { id: 'a', match: { path: '/srv' } },
          { id: 'b', match: { path: '/opt', depth: 2 } },
        ],
      },
    });
  });

  it('given a duplicate key, names the key path', () => {
    const text = VALID.replace(
      '    match: { path: /opt, depth: 2 }',
      '    id: c\n    match: { path: /opt }',
    );
    expect(problemsOf(text)).toEqual([['rules[1].id', 'DUPLICATE_KEY']]);
  });

  it('given a duplicate key at the top, names it', () => {
    expect(problemsOf(`${VALID}mode: allow\n`)).toEqual([['mode', 'DUPLICATE_KEY']]);
  });

  it('given an alias bomb, refuses the expansion without building it', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    ].join('\n');
    const r = parseStrictYaml(bomb, { maxBytes: 4096, maxDepth: 10, maxAliases: 64 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.code)).toEqual(['TOO_MANY_ALIASES']);
  });

  it('given a few aliases within the count, still bounds their expansion', () => {
    const r = parseStrictYaml('a: &a [1, 2]\nb: *a\n', LIMITS);
    expect(r).toEqual({ ok: true, value: { a: [1, 2], b: [1, 2] } });
    const bomb = 'a: &a [1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a]\n';
    expect(parseStrictYaml(bomb, { ...LIMITS, maxAliases: 3 }).ok).toBe(false);
  });

  it('given maxAliases 0, refuses every anchor and alias with its path', () => {
    const r = parseStrictYaml('a: &x [1]\nb: *x\n', { ...LIMITS, maxAliases: 0 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => [p.path, p.code])).toEqual([
      ['a', 'ALIAS_FORBIDDEN'],
      ['b', 'ALIAS_FORBIDDEN'],
    ]);
  });

  it('given a wrong type at a deep path, names that path', () => {
    const text = VALID.replace('depth: 2', 'depth: deep');
    const r = loadStrictDocument(text, RulesSchema, LIMITS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      {
        path: 'rules[1].match.depth',
        code: 'TYPE_MISMATCH',
        message: 'expected integer, got "deep"',
      },
    ]);
  });

  it('given several problems, reports all of them at once', () => {
    const text = `version: 2
mode: maybe
rules:
  - id: a
    match: { path: relative }
    extra: true
  - match: { path: /ok }
tags: [x, x]
`;
    expect(problemsOf(text)).toEqual([
      ['version', 'VALUE_INVALID'],
      ['mode', 'VALUE_INVALID'],
      ['rules[0].extra', 'KEY_UNKNOWN'],
      ['rules[0].match.path', 'VALUE_INVALID'],
      ['rules[1].id', 'KEY_MISSING'],
      ['tags[1]', 'DUPLICATE_ENTRY'],
    ]);
  });

  it('words schema problems for the operator', () => {
    const r = loadStrictDocument(`${VALID}surprise: 1\n`, RulesSchema, LIMITS);
    expect(!r.ok && r.problems).toEqual([
      {
        path: 'surprise',
        code: 'KEY_UNKNOWN',
        message: 'unknown key "surprise" (expected one of: version, mode, rules, tags)',
      },
    ]);
    const missing = loadStrictDocument('version: 1\nmode: deny\n', RulesSchema, LIMITS);
    expect(!missing.ok && missing.problems).toEqual([
      { path: 'rules', code: 'KEY_MISSING', message: 'required key is missing' },
    ]);
  });

  it('quotes keys that are not plain identifiers', () => {
    expect(problemsOf(`${VALID}"a.b": 1\n`)).toEqual([['["a.b"]', 'KEY_UNKNOWN']]);
  });

  it('given an oversized text, refuses it before parsing', () => {
    const r = loadStrictDocument(`${VALID}#${'x'.repeat(5000)}\n`, RulesSchema, LIMITS);
    expect(!r.ok && r.problems).toEqual([
      {
        path: '',
        code: 'TOO_LARGE',
        message: expect.stringMatching(/^too large: \d+ bytes; the limit is 4096 bytes$/) as string,
      },
    ]);
  });

  it('counts bytes, not characters', () => {
    const text = `a: "${'é'.repeat(60)}"\n`; // 60 characters, 120 bytes
    expect(parseStrictYaml(text, { ...LIMITS, maxBytes: 100 }).ok).toBe(false);
  });

  it('given nesting deeper than the limit, says where', () => {
    const r = parseStrictYaml('a: { b: { c: { d: [1] } } }\n', { ...LIMITS, maxDepth: 3 });
    expect(!r.ok && r.problems.map((p) => [p.path, p.code])).toEqual([['a.b.c', 'TOO_DEEP']]);
    expect(parseStrictYaml('a: { b: { c: { d: [1] } } }\n', { ...LIMITS, maxDepth: 5 }).ok).toBe(
      true,
    );
  });

  it('given absurd flow nesting, fails closed instead of overflowing', () => {
    const r = parseStrictYaml(`${'['.repeat(3000)}${']'.repeat(3000)}`, {
      maxBytes: 10_000,
      maxDepth: 16,
      maxAliases: 0,
    });
    expect(!r.ok && r.problems.map((p) => p.code)).toEqual(['TOO_DEEP']);
  });

  it('given aliases that nest a structure inside itself, bounds the expanded depth', () => {
    const r = parseStrictYaml('a: &a [1, [2, [3]]]\nb: [[[*a]]]\n', { ...LIMITS, maxDepth: 5 });
    expect(!r.ok && r.problems.map((p) => [p.path, p.code])).toEqual([
      ['b[0][0][0][1]', 'TOO_DEEP'],
    ]);
  });

  it('refuses custom and non-core tags', () => {
    for (const text of ['a: !custom x\n', 'a: !!binary aGk=\n', 'a: !!set { x: null }\n']) {
      const r = parseStrictYaml(text, LIMITS);
      expect(!r.ok && r.problems.map((p) => [p.path, p.code])).toEqual([['a', 'TAG_FORBIDDEN']]);
    }
  });

  it('treats "<<" as an ordinary key, not a merge', () => {
    expect(parseStrictYaml('a: &a { x: 1 }\nb: { <<: *a }\n', LIMITS)).toEqual({
      ok: true,
      value: { a: { x: 1 }, b: { '<<': { x: 1 } } },
    });
  });

  it('refuses several documents unless allowed, and an empty text', () => {
    const two = 'a: 1\n---\nb: 2\n';
    expect(parseStrictYaml(two, LIMITS)).toEqual({
      ok: false,
      problems: [
        {
          path: '',
          code: 'MULTIPLE_DOCUMENTS',
          message:
            'the text holds 2 YAML documents; exactly one is expected (the second starts at line 2)',
        },
      ],
    });
    expect(parseStrictYaml(two, { ...LIMITS, multipleDocuments: true })).toEqual({
      ok: true,
      value: [{ a: 1 }, { b: 2 }],
    });
    const empty = parseStrictYaml('# only a comment\n', LIMITS);
    expect(!empty.ok && empty.problems.map((p) => p.code)).toEqual(['NO_DOCUMENT']);
  });

  it('reports syntax errors as YAML_INVALID, never throws', () => {
    for (const text of ['{ unclosed', 'a: "x\n', 'a:\n\t- tab\n', 42 as unknown as string]) {
      const r = parseStrictYaml(text, LIMITS);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(['YAML_INVALID', 'NOT_TEXT']).toContain(r.problems[0]?.code);
    }
  });

  it('caps the problem list and says how many more', () => {
    const text = `version: 1\nmode: deny\nrules: []\n${Array.from({ length: 30 }, (_, i) => `k${i}: 1`).join('\n')}\n`;
    const r = loadStrictDocument(text, RulesSchema, { ...LIMITS, maxProblems: 10 });
    expect(!r.ok && r.problems.length).toBe(10);
    expect(!r.ok && r.problems[9]).toEqual({
      path: '',
      code: 'TOO_MANY_PROBLEMS',
      message: '… and 21 more problems',
    });
  });
});

describe('DocumentError', () => {
  it('carries every problem and summarises them in its message', () => {
    const problems: DocumentProblem[] = [
      { path: 'a', code: 'KEY_MISSING', message: 'required key is missing' },
      { path: '', code: 'TOO_LARGE', message: 'too large' },
    ];
    const err = new DocumentError('/etc/x.yaml', problems);
    expect(err.code).toBe('DOCUMENT_INVALID');
    expect(err.name).toBe('DocumentError');
    expect(err.problems).toBe(problems);
    expect(err.message).toBe('/etc/x.yaml is invalid: a: required key is missing; too large');
    expect(problems.map(formatProblem)).toEqual(['a: required key is missing', 'too large']);
  });

  it('capProblems keeps short lists and cuts long texts', () => {
    const long = { path: 'p', code: 'X', message: 'm'.repeat(600) };
    expect(capProblems([long], 5)[0]?.message).toHaveLength(512);
  });
});

describe('readDocumentFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secai-documents-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const read = (name: string, followSymlinks = false) =>
    readDocumentFile(join(dir, name), { maxBytes: 16, followSymlinks });
  const codeOf = async (name: string, followSymlinks = false) => {
    const r = await read(name, followSymlinks);
    return r.ok ? 'ok' : r.problems[0]?.code;
  };

  it('reads a small UTF-8 file', async () => {
    await writeFile(join(dir, 'ok.yaml'), 'a: é\n');
    expect(await read('ok.yaml')).toEqual({ ok: true, value: 'a: é\n' });
  });

  it('refuses a missing, oversized, non-UTF-8 or non-regular file, and a link unless followed', async () => {
    await writeFile(join(dir, 'big.yaml'), 'x'.repeat(17));
    await writeFile(join(dir, 'bad.yaml'), Buffer.from([0x61, 0xff, 0x0a]));
    await symlink(join(dir, 'ok.yaml'), join(dir, 'link.yaml'));
    expect(await codeOf('none.yaml')).toBe('FILE_MISSING');
    expect(await codeOf('big.yaml')).toBe('TOO_LARGE');
    expect(await codeOf('bad.yaml')).toBe('NOT_UTF8');
    expect(await codeOf('.')).toBe('NOT_A_FILE');
    expect(await codeOf('link.yaml')).toBe('FILE_UNREADABLE');
    expect(await codeOf('link.yaml', true)).toBe('ok');
  });
});

describe('the problem code catalogue', () => {
  it('documents every code in the README', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of DOCUMENT_PROBLEM_CODES) expect(readme).toContain(`\`${code}\``);
  });
});

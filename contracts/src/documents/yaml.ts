import {
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Document,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
  type YAMLError,
} from 'yaml';
import { keyPathOf } from './keyPath.js';
import type { DocumentProblem, DocumentResult } from './problem.js';

/** What a document may be: every loader states its own numbers. */
export interface DocumentLimits {
  /** Largest text accepted, in UTF-8 bytes; checked before any parsing. */
  maxBytes: number;
  /** Deepest nesting of mappings and lists (the top-level mapping is depth 1). */
  maxDepth: number;
  /**
   * Alias nodes allowed (`*name`). 0 refuses anchors and aliases altogether; above 0, the
   * expansion is bounded too (yaml's `maxAliasCount`), so a billion laughs stays small.
   */
  maxAliases: number;
  /** Several `---` documents: their values come back as a list. Default: exactly one. */
  multipleDocuments?: boolean;
  /** Problems reported at most (the last says how many more). Default 100. */
  maxProblems?: number;
}

// YAML 1.2 core schema, nothing more: unique keys, no `<<` merge keys, no tags beyond the core
// ones (!!binary, !!set, !!timestamp and custom tags stay unresolved, hence problems), warnings
// counted as problems, nothing printed.
const YAML_OPTIONS = {
  version: '1.2',
  schema: 'core',
  merge: false,
  uniqueKeys: true,
  stringKeys: true,
  strict: true,
  resolveKnownTags: false,
  prettyErrors: true,
  logLevel: 'silent',
} as const satisfies ParseOptions & DocumentOptions & SchemaOptions;

const CODES: Partial<Record<YAMLError['code'], string>> = {
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  TAG_RESOLVE_FAILED: 'TAG_FORBIDDEN',
  BAD_COLLECTION_TYPE: 'TAG_FORBIDDEN',
  MULTIPLE_TAGS: 'TAG_FORBIDDEN',
};

/** Parser problems that concern one node: they get that node's key path. */
const NODE_ERRORS = new Set<string>([
  'DUPLICATE_KEY',
  'NON_STRING_KEY',
  'TAG_RESOLVE_FAILED',
  'BAD_ALIAS',
  'BAD_COLLECTION_TYPE',
]);

/**
 * Parses strict YAML into plain data (no schema check). Pure; never throws: every problem of the
 * text comes back at once, each with its key path where the parser can place it.
 */
export function parseStrictYaml(text: unknown, limits: DocumentLimits): DocumentResult<unknown> {
  const fail = (path: string, code: string, message: string): DocumentResult<unknown> => ({
    ok: false,
    problems: [{ path, code, message }],
  });
  if (typeof text !== 'string') return fail('', 'NOT_TEXT', 'not text');
  const size = Buffer.byteLength(text, 'utf8');
  if (size > limits.maxBytes) {
    return fail('', 'TOO_LARGE', `too large: ${size} bytes; the limit is ${limits.maxBytes} bytes`);
  }
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, YAML_OPTIONS) as Document.Parsed[];
  } catch (err) {
    // Only resource exhaustion gets here (a stack overflow on absurd nesting): fail closed.
    const tooDeep = err instanceof RangeError;
    return fail(
      '',
      tooDeep ? 'TOO_DEEP' : 'YAML_INVALID',
      tooDeep
        ? `nested too deeply to parse (the limit is ${limits.maxDepth} levels)`
        : `YAML could not be parsed: ${(err as Error).message}`,
    );
  }
  // parseAllDocuments returns an EmptyStream (an empty array) for empty input.
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length === 0) {
    return fail(
      '',
      'NO_DOCUMENT',
      'the text holds no YAML document (it is empty or only comments)',
    );
  }
  if (list.length > 1 && limits.multipleDocuments !== true) {
    const second = list[1]?.range?.[0];
    const where =
      second === undefined ? '' : ` (the second starts at line ${lineOf(text, second)})`;
    return fail(
      '',
      'MULTIPLE_DOCUMENTS',
      `the text holds ${list.length} YAML documents; exactly one is expected${where}`,
    );
  }
  const problems: DocumentProblem[] = [];
  const values: unknown[] = [];
  for (const [i, doc] of list.entries()) {
    const prefix = list.length > 1 ? `[${i}]` : '';
    const before = problems.length;
    const errors = [...doc.errors, ...doc.warnings];
    // The parser ran out of stack (absurd nesting): one problem, not one per level.
    if (errors.some((e) => e.code === 'RESOURCE_EXHAUSTION')) {
      problems.push({
        path: prefix,
        code: 'TOO_DEEP',
        message: `nested too deeply to parse: the limit is ${limits.maxDepth} levels`,
      });
      continue;
    }
    for (const e of errors) problems.push(yamlProblem(e, doc, prefix));
    if (problems.length > before) continue;
    problems.push(...structureProblems(doc.contents, prefix, limits));
    if (problems.length > before) continue;
    const converted = toPlain(doc, prefix, limits);
    if (converted.ok) values.push(converted.value);
    else problems.push(...converted.problems);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: limits.multipleDocuments === true ? values : values[0] };
}

function yamlProblem(e: YAMLError, doc: Document.Parsed, prefix: string): DocumentProblem {
  const first = (e.message.split('\n')[0] ?? e.message).replace(/:\s*$/u, '');
  const path = NODE_ERRORS.has(e.code) ? keyPathAt(doc.contents, e.pos[0], prefix) : prefix;
  return { path, code: CODES[e.code] ?? 'YAML_INVALID', message: `YAML ${e.code}: ${first}` };
}

/** Anchors, aliases and depth, checked on the syntax tree before anything is expanded. */
function structureProblems(
  root: unknown,
  prefix: string,
  limits: DocumentLimits,
): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  let aliases = 0;
  let deepReported = false;
  const walk = (node: unknown, path: string, depth: number): void => {
    if (isAlias(node)) {
      aliases++;
      if (limits.maxAliases === 0) {
        problems.push({
          path,
          code: 'ALIAS_FORBIDDEN',
          message: `alias *${node.source}: aliases are not allowed in this document`,
        });
      }
      return;
    }
    if (!isNode(node)) return;
    if (limits.maxAliases === 0 && typeof node.anchor === 'string') {
      problems.push({
        path,
        code: 'ALIAS_FORBIDDEN',
        message: `anchor &${node.anchor}: anchors are not allowed in this document`,
      });
    }
    if (!isMap(node) && !isSeq(node)) return;
    if (depth > limits.maxDepth) {
      if (!deepReported) {
        problems.push({
          path,
          code: 'TOO_DEEP',
          message: `nested too deeply: the limit is ${limits.maxDepth} levels`,
        });
      }
      deepReported = true;
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        walk(pair.key, path, depth + 1);
        walk(pair.value, keyPathOf(path, key), depth + 1);
      }
    } else {
      node.items.forEach((item, i) => walk(item, keyPathOf(path, i), depth + 1));
    }
  };
  walk(root, prefix, 1);
  if (limits.maxAliases > 0 && aliases > limits.maxAliases) {
    problems.push({
      path: prefix,
      code: 'TOO_MANY_ALIASES',
      message: `${aliases} aliases; at most ${limits.maxAliases} are allowed`,
    });
  }
  return problems;
}

/** The document as plain data, with alias expansion and the depth of the result bounded. */
function toPlain(doc: Document.Parsed, prefix: string, limits: DocumentLimits) {
  let value: unknown;
  try {
    // maxAliasCount bounds the expansion, not only the number of alias nodes.
    value = doc.toJS({ maxAliasCount: limits.maxAliases });
  } catch (err) {
    const message = (err as Error).message;
    if (err instanceof ReferenceError) {
      return fail(prefix, 'TOO_MANY_ALIASES', `alias expansion refused: ${message}`);
    }
    if (err instanceof RangeError) {
      return fail(prefix, 'TOO_DEEP', `nested too deeply: the limit is ${limits.maxDepth} levels`);
    }
    return fail(prefix, 'YAML_INVALID', `YAML could not be converted: ${message}`);
  }
  // Aliases can nest a structure inside itself: the expanded value is measured again.
  const deep = depthBeyond(value, limits.maxDepth, prefix);
  if (deep !== null) {
    return fail(
      deep,
      'TOO_DEEP',
      `nested too deeply once aliases are expanded: the limit is ${limits.maxDepth} levels`,
    );
  }
  return { ok: true as const, value };
}

function fail(path: string, code: string, message: string) {
  return { ok: false as const, problems: [{ path, code, message }] };
}

/** The key path where `value` first nests deeper than `max`, or null. Recursion stays bounded. */
function depthBeyond(value: unknown, max: number, start: string): string | null {
  const walk = (v: unknown, path: string, depth: number): string | null => {
    if (typeof v !== 'object' || v === null) return null;
    if (depth > max) return path;
    const entries: [string | number, unknown][] = Array.isArray(v)
      ? v.map((item, i) => [i, item] as [number, unknown])
      : Object.entries(v);
    for (const [k, item] of entries) {
      const found = walk(item, keyPathOf(path, k), depth + 1);
      if (found !== null) return found;
    }
    return null;
  };
  return walk(value, start, 1);
}

/** The key path of the deepest node of a parsed document that contains `offset`. */
function keyPathAt(node: unknown, offset: number, path: string): string {
  const within = (n: unknown): boolean => {
    const range = isNode(n) ? n.range : undefined;
    return range != null && offset >= range[0] && offset < range[2];
  };
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key;
      const keyRange = isScalar(key) ? key.range : undefined;
      if (!isScalar(key) || keyRange == null) continue;
      const here = keyPathOf(path, String(key.value));
      if (within(key)) return here;
      const valueRange = isNode(pair.value) ? pair.value.range : undefined;
      const end = valueRange != null ? valueRange[2] : keyRange[2];
      if (offset >= keyRange[0] && offset < end)
        return within(pair.value) ? keyPathAt(pair.value, offset, here) : here;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      if (within(item)) return keyPathAt(item, offset, keyPathOf(path, i));
    }
  }
  return path;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

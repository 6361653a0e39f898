import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import {
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseAllDocuments,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
  type YAMLError,
} from 'yaml';
import { canonicalJson, schemaProblems, sha256Hex } from '@secai/contracts';
import {
  InvalidDestinationEntryError,
  InvalidPathPatternError,
  normalizeDestinationEntry,
  normalizePattern,
} from '../match/index.js';
import { PolicyError, type PolicyProblem } from './errors.js';
import {
  AgentPolicySchema,
  MainPolicySchema,
  type PolicyDocuments,
  type PolicySnapshot,
} from './schema.js';

// Loading the policy: strict YAML, both documents validated against the closed schemas plus the
// semantic rules a schema cannot express, every problem collected with its key path, and a digest
// over the canonical content (formatting and comments do not change it, content does). The
// original parsed leniently, ignored unknown keys, read keys its own files did not have, failed
// open on missing sections and hashed raw bytes.

/** Largest policy file accepted, in bytes. */
export const MAX_POLICY_FILE_BYTES = 256 * 1024;
/** Largest canonical form of both documents (what `policy.loaded` carries), in characters. */
export const MAX_CANONICAL_DOCUMENTS_LENGTH = 262_144;
/** YAML aliases allowed per document: enough to reuse a list, far too few for a billion laughs. */
export const MAX_YAML_ALIASES = 32;
/** Problems reported per load; the rest are summarised in one last problem. */
export const MAX_PROBLEMS = 500;
/** The two documents of a policy, recognised by file name. */
export const POLICY_FILE_NAMES = { policy: 'policy.yaml', agent: 'agent.yaml' } as const;

/** The policy the appliance ships (`services/policy-engine/policy`), from `src/` and `dist/` alike. */
export const DEFAULT_POLICY_DIR = resolve(fileURLToPath(new URL('../../policy/', import.meta.url)));

export interface PolicyFileInput {
  path: string;
  text: string;
}
export type PolicyLoadResult =
  { ok: true; snapshot: PolicySnapshot } | { ok: false; problems: PolicyProblem[] };

type Kind = keyof typeof POLICY_FILE_NAMES;
const KINDS: readonly Kind[] = ['policy', 'agent'];
const SCHEMAS: Record<Kind, TSchema> = { policy: MainPolicySchema, agent: AgentPolicySchema };
type Issue = Omit<PolicyProblem, 'file'>;

/**
 * Parses and validates the two policy documents. Pure: no I/O, no clock. Never throws; every
 * problem in either file is reported, each with the key path it concerns.
 */
export function parsePolicyDocuments(files: readonly PolicyFileInput[]): PolicyLoadResult {
  return parseFiles(files, new Set());
}

/** Fails closed on anything unforeseen: a problem, never an exception. */
function parseFiles(
  files: readonly PolicyFileInput[],
  alreadyReported: ReadonlySet<Kind>,
): PolicyLoadResult {
  try {
    return parseFilesUnsafe(files, alreadyReported);
  } catch (err) {
    return {
      ok: false,
      problems: [
        {
          // Name a real file: `policy.load.failed` requires an absolute path when there is one.
          file: files[0]?.path ?? POLICY_FILE_NAMES.policy,
          keyPath: '',
          message: `the policy could not be loaded: ${(err as Error).message}`,
        },
      ],
    };
  }
}

/**
 * Reads `<dir>/policy.yaml` and `<dir>/agent.yaml` and parses them. A missing, unreadable or
 * oversized file is a problem (key path ''), not a throw.
 */
export async function loadPolicyDir(dir: string): Promise<ReturnType<typeof parsePolicyDocuments>> {
  const root = resolve(dir);
  const inputs: PolicyFileInput[] = [];
  const problems: PolicyProblem[] = [];
  const unread = new Set<Kind>();
  for (const kind of KINDS) {
    const path = join(root, POLICY_FILE_NAMES[kind]);
    const read = await readPolicyFile(path);
    if (read.ok) inputs.push({ path, text: read.text });
    else {
      problems.push({ file: path, keyPath: '', message: read.message });
      unread.add(kind);
    }
  }
  // Parse what could be read all the same, so one run reports every problem.
  const parsed = parseFiles(inputs, unread);
  if (problems.length === 0) return parsed;
  return { ok: false, problems: capProblems([...problems, ...(parsed.ok ? [] : parsed.problems)]) };
}

/**
 * Rebuilds a snapshot from the canonical documents a `policy.loaded` event carries (for replay):
 * both documents are validated again and the digest recomputed. The input must be exactly the
 * canonical form; when `expectedDigest` is given (the event's `digest`) it must match too.
 * Throws `PolicyError` (`POLICY_INVALID`, or `POLICY_TOO_LARGE`) with every problem found.
 */
export function snapshotFromDocuments(
  canonicalDocuments: string,
  expectedDigest?: string,
): PolicySnapshot {
  const whole = (message: string): PolicyProblem[] => [
    { file: 'canonicalDocuments', keyPath: '', message },
  ];
  if (typeof canonicalDocuments !== 'string') {
    throw new PolicyError(
      'POLICY_INVALID',
      'policy documents must be a string',
      whole('not a string'),
    );
  }
  if (canonicalDocuments.length > MAX_CANONICAL_DOCUMENTS_LENGTH) {
    const message = `${canonicalDocuments.length} characters; the limit is ${MAX_CANONICAL_DOCUMENTS_LENGTH}`;
    throw new PolicyError(
      'POLICY_TOO_LARGE',
      `policy documents too large: ${message}`,
      whole(message),
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(canonicalDocuments);
  } catch (err) {
    const message = `not valid JSON: ${(err as Error).message}`;
    throw new PolicyError('POLICY_INVALID', `policy documents are ${message}`, whole(message), {
      cause: err,
    });
  }
  if (!isRecord(parsed)) {
    throw new PolicyError(
      'POLICY_INVALID',
      'policy documents must be an object',
      whole('expected {"agent":…,"policy":…}'),
    );
  }
  const problems: PolicyProblem[] = [];
  for (const key of Object.keys(parsed)) {
    if (key !== 'agent' && key !== 'policy') {
      problems.push({
        file: 'canonicalDocuments',
        keyPath: formatKey('', key),
        message: 'unknown document',
      });
    }
  }
  for (const kind of KINDS)
    problems.push(...validateDocument(kind, parsed[kind], POLICY_FILE_NAMES[kind]));
  if (problems.length > 0) {
    throw new PolicyError(
      'POLICY_INVALID',
      `policy documents are invalid (${problems.length} problems)`,
      capProblems(problems),
    );
  }
  const documents = { agent: parsed['agent'], policy: parsed['policy'] };
  if (canonicalJson(documents) !== canonicalDocuments) {
    throw new PolicyError(
      'POLICY_INVALID',
      'policy documents are not in canonical form',
      whole(
        'not canonical JSON (sorted keys, no whitespace): it cannot be the text its digest was computed over',
      ),
    );
  }
  const snapshot = buildSnapshot(canonicalDocuments, []);
  if (expectedDigest !== undefined && snapshot.digest !== expectedDigest) {
    throw new PolicyError(
      'POLICY_INVALID',
      `policy documents digest to ${snapshot.digest}, expected ${expectedDigest}`,
      whole(
        `digest mismatch: the documents digest to ${snapshot.digest}, expected ${expectedDigest}`,
      ),
    );
  }
  return snapshot;
}

// ---------------------------------------------------------------------------------------------
// Files and YAML

function parseFilesUnsafe(
  files: readonly PolicyFileInput[],
  alreadyReported: ReadonlySet<Kind>,
): PolicyLoadResult {
  const problems: PolicyProblem[] = [];
  const byKind = new Map<Kind, PolicyFileInput>();
  const accepted: PolicyFileInput[] = [];
  for (const f of files) {
    const name = basename(f.path);
    const kind = KINDS.find((k) => POLICY_FILE_NAMES[k] === name);
    if (kind === undefined) {
      problems.push({
        file: f.path,
        keyPath: '',
        message: `unexpected policy file ${JSON.stringify(name)}: a policy is exactly policy.yaml and agent.yaml`,
      });
      continue;
    }
    const previous = byKind.get(kind);
    if (previous !== undefined) {
      problems.push({
        file: f.path,
        keyPath: '',
        message: `${name} is given twice (also as ${previous.path})`,
      });
      continue;
    }
    byKind.set(kind, f);
    accepted.push(f);
  }
  for (const kind of KINDS) {
    if (!byKind.has(kind) && !alreadyReported.has(kind)) {
      const name = POLICY_FILE_NAMES[kind];
      problems.push({
        file: name,
        keyPath: '',
        message: `${name} is missing: a policy is exactly policy.yaml and agent.yaml`,
      });
    }
  }

  const values = new Map<Kind, unknown>();
  for (const f of accepted) {
    const kind = KINDS.find((k) => byKind.get(k) === f);
    if (kind === undefined) continue;
    const read = readYaml(f.text);
    if (!read.ok) {
      problems.push(...read.issues.map((i) => ({ file: f.path, ...i })));
      continue;
    }
    const docProblems = validateDocument(kind, read.value, f.path);
    problems.push(...docProblems);
    if (docProblems.length === 0) values.set(kind, read.value);
  }
  const policy = values.get('policy');
  const agent = values.get('agent');
  // (Both are always there when there is no problem, unless the caller reported one already.)
  if (problems.length > 0 || policy === undefined || agent === undefined) {
    return { ok: false, problems: capProblems(problems) };
  }

  const canonicalDocuments = canonicalJson({ agent, policy });
  if (canonicalDocuments.length > MAX_CANONICAL_DOCUMENTS_LENGTH) {
    return {
      ok: false,
      problems: accepted.map((f) => ({
        file: f.path,
        keyPath: '',
        message: `too large: the canonical documents are ${canonicalDocuments.length} characters; the limit is ${MAX_CANONICAL_DOCUMENTS_LENGTH}`,
      })),
    };
  }
  const fileInfo = accepted.map((f) => ({
    path: f.path,
    digest: `sha256:${sha256Hex(f.text)}`,
    sizeBytes: Buffer.byteLength(f.text, 'utf8'),
  }));
  return { ok: true, snapshot: buildSnapshot(canonicalDocuments, fileInfo) };
}

function buildSnapshot(canonicalDocuments: string, files: PolicySnapshot['files']): PolicySnapshot {
  // The documents are re-read from their canonical form, so a snapshot loaded from files and one
  // rebuilt from a `policy.loaded` event are the same plain data.
  const documents = JSON.parse(canonicalDocuments) as PolicyDocuments;
  return deepFreeze({
    digest: `sha256:${sha256Hex(canonicalDocuments)}`,
    version: documents.policy.version,
    documents,
    canonicalDocuments,
    files,
  });
}

const YAML_OPTIONS = {
  version: '1.2',
  schema: 'core',
  merge: false, // `<<` is an ordinary (and therefore unknown) key
  uniqueKeys: true,
  stringKeys: true,
  strict: true,
  resolveKnownTags: false, // !!binary, !!set, !!omap, !!timestamp … are unresolved, hence errors
  prettyErrors: true,
  logLevel: 'silent', // everything is reported through errors and warnings, nothing printed
} as const satisfies ParseOptions & DocumentOptions & SchemaOptions;

/** YAML problems that concern one node: they get that node's key path. */
const NODE_ERRORS = new Set([
  'DUPLICATE_KEY',
  'NON_STRING_KEY',
  'TAG_RESOLVE_FAILED',
  'BAD_ALIAS',
  'BAD_COLLECTION_TYPE',
]);

function readYaml(text: string): { ok: true; value: unknown } | { ok: false; issues: Issue[] } {
  const fail = (message: string): { ok: false; issues: Issue[] } => ({
    ok: false,
    issues: [{ keyPath: '', message }],
  });
  if (typeof text !== 'string') return fail('not text');
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_POLICY_FILE_BYTES) return fail(tooLarge(size));
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, YAML_OPTIONS);
  } catch (err) {
    return fail(`YAML could not be parsed: ${(err as Error).message}`);
  }
  if (docs.length === 0)
    return fail('the file holds no YAML document (it is empty or only comments)');
  if (docs.length > 1) {
    const second = docs[1]?.range?.[0];
    const where =
      second === undefined ? '' : ` (the second starts at line ${lineOf(text, second)})`;
    return fail(`the file holds ${docs.length} YAML documents; exactly one is expected${where}`);
  }
  const doc = docs[0];
  if (doc === undefined) return fail('the file holds no YAML document');
  const issues: Issue[] = [...doc.errors, ...doc.warnings].map((e) => yamlIssue(e, doc.contents));
  if (issues.length > 0) return { ok: false, issues };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) };
  } catch (err) {
    if (err instanceof ReferenceError) {
      return fail(`too many YAML aliases (at most ${MAX_YAML_ALIASES} expansions): ${err.message}`);
    }
    return fail(`YAML could not be converted: ${(err as Error).message}`);
  }
}

function yamlIssue(e: YAMLError, contents: unknown): Issue {
  const first = e.message.split('\n')[0] ?? e.message;
  const message = `YAML ${e.code}: ${first.replace(/:\s*$/, '')}`;
  const keyPath = NODE_ERRORS.has(e.code) ? keyPathAt(contents, e.pos[0], '') : '';
  return { keyPath, message };
}

/** The key path of the deepest node of a parsed YAML document that contains `offset`. */
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
      const here = formatKey(path, String(key.value));
      if (within(key)) return here;
      const valueRange = isNode(pair.value) ? pair.value.range : undefined;
      const end = valueRange != null ? valueRange[2] : keyRange[2];
      if (offset >= keyRange[0] && offset < end)
        return within(pair.value) ? keyPathAt(pair.value, offset, here) : here;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      if (within(item)) return keyPathAt(item, offset, `${path}[${i}]`);
    }
  }
  return path;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

const tooLarge = (size: number): string =>
  `too large: ${size} bytes; the limit is ${MAX_POLICY_FILE_BYTES} bytes (256 KiB)`;

type ReadResult = { ok: true; text: string } | { ok: false; message: string };

async function readPolicyFile(path: string): Promise<ReadResult> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO put in place of a policy file must not hang the loader.
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      message:
        code === 'ENOENT'
          ? 'file is missing'
          : `file cannot be read: ${code ?? (err as Error).message}`,
    };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, message: 'not a regular file' };
    if (stat.size > MAX_POLICY_FILE_BYTES) return { ok: false, message: tooLarge(stat.size) };
    // Read at most one byte past the limit: the file may grow between stat and read.
    const buf = Buffer.alloc(MAX_POLICY_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n >= buf.length) break;
    }
    if (n > MAX_POLICY_FILE_BYTES) return { ok: false, message: tooLarge(n) };
    try {
      // Fatal: invalid UTF-8 is refused, not replaced. The BOM is kept so `text` is the bytes.
      return {
        ok: true,
        text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf.subarray(0, n)),
      };
    } catch {
      return { ok: false, message: 'not valid UTF-8' };
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, message: `file cannot be read: ${code ?? (err as Error).message}` };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

function validateDocument(kind: Kind, value: unknown, file: string): PolicyProblem[] {
  if (!isRecord(value)) {
    return [
      {
        file,
        keyPath: '',
        message: `expected a mapping at the top of the document, got ${describeValue(value)}`,
      },
    ];
  }
  const schemaIssues = schemaCheck(SCHEMAS[kind], value);
  const located = new Set(schemaIssues.map((i) => i.keyPath));
  // A semantic problem at a key the schema already refused would only repeat it.
  const semantic = (kind === 'policy' ? policySemantics(value) : agentSemantics(value)).filter(
    (i) => !located.has(i.keyPath),
  );
  return [...schemaIssues, ...semantic].map((i) => ({ file, ...i }));
}

function schemaCheck(schema: TSchema, value: unknown): Issue[] {
  const issues: Issue[] = [];
  const missing = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    // A missing key also fails its own type check; report it once, as missing.
    if (missing.has(e.path)) continue;
    if (e.type === ValueErrorType.ObjectRequiredProperty) missing.add(e.path);
    issues.push(describeError(e, value));
  }
  if (issues.length > 0) return issues;
  // Second opinion from ajv (the validator the contracts use): never accept what it refuses.
  let ajvProblems: string[];
  try {
    ajvProblems = schemaProblems(schema, value);
  } catch (err) {
    return [{ keyPath: '', message: `the schema validator failed: ${(err as Error).message}` }];
  }
  return ajvProblems.map((p) => {
    const cut = p.indexOf(': ');
    const pointer = cut < 0 ? '' : p.slice(0, cut);
    return {
      keyPath: pointerToKeyPath(pointer === '/' ? '' : pointer, value),
      message: cut < 0 ? p : p.slice(cut + 2),
    };
  });
}

function describeError(e: ValueError, root: unknown): Issue {
  let keyPath = pointerToKeyPath(e.path, root);
  const got = describeValue(e.value);
  const schema = e.schema as Record<string, unknown>;
  let message: string;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      message = 'required key is missing';
      break;
    case ValueErrorType.ObjectAdditionalProperties: {
      const key = decodePointerSegment(e.path.slice(e.path.lastIndexOf('/') + 1));
      const allowed = allowedKeys(schema);
      message = `unknown key ${JSON.stringify(key)}${allowed ? ` (expected one of: ${allowed})` : ''}`;
      break;
    }
    case ValueErrorType.Union: {
      const options = Array.isArray(schema['anyOf'])
        ? (schema['anyOf'] as Record<string, unknown>[])
        : [];
      const consts = options.every((o) => 'const' in o)
        ? options.map((o) => JSON.stringify(o['const']))
        : [];
      message =
        consts.length > 0
          ? `expected one of ${consts.join(', ')}, got ${got}`
          : `${lower(e.message)}, got ${got}`;
      break;
    }
    case ValueErrorType.Literal:
      message = `expected ${JSON.stringify(schema['const'])}, got ${got}`;
      break;
    case ValueErrorType.ArrayUniqueItems: {
      const items = Array.isArray(e.value) ? (e.value as unknown[]) : [];
      const seen = new Set<string>();
      const dup = items.findIndex((item) => {
        const c = JSON.stringify(item);
        if (seen.has(c)) return true;
        seen.add(c);
        return false;
      });
      if (dup >= 0) {
        keyPath = `${keyPath}[${dup}]`;
        message = `duplicate entry ${describeValue(items[dup])}: entries must be unique`;
      } else message = 'entries must be unique';
      break;
    }
    default:
      message = `${lower(e.message)}, got ${got}`;
  }
  return { keyPath, message };
}

function allowedKeys(schema: Record<string, unknown>): string | undefined {
  const properties = schema['properties'];
  if (isRecord(properties)) return Object.keys(properties).join(', ');
  const patterns = schema['patternProperties'];
  if (isRecord(patterns)) {
    const pattern = Object.keys(patterns)[0] ?? '';
    const alternatives = /^\^\(([^()]*)\)\$$/.exec(pattern);
    return alternatives?.[1] !== undefined
      ? alternatives[1].split('|').join(', ')
      : `keys matching ${pattern}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Semantic rules (what the schema cannot say). Written defensively: they also run on documents
// that failed the schema, so one load reports every problem.

function policySemantics(doc: Record<string, unknown>): Issue[] {
  const out: Issue[] = [];
  const models = record(doc['models']);
  const allowedFormats = new Set(list(models['allowed_formats']).filter(isString));
  list(models['deny_formats']).forEach((f, i) => {
    if (isString(f) && allowedFormats.has(f)) {
      out.push({
        keyPath: `models.deny_formats[${i}]`,
        message: `format ${JSON.stringify(f)} is also in models.allowed_formats: a format is either allowed or denied`,
      });
    }
  });

  const tools = record(doc['tools']);
  const allowed = new Map<string, number>();
  list(tools['allow']).forEach((raw, i) => {
    const entry = record(raw);
    const name = entry['name'];
    if (isString(name)) {
      const first = allowed.get(name);
      if (first === undefined) allowed.set(name, i);
      else {
        out.push({
          keyPath: `tools.allow[${i}].name`,
          message: `tool ${JSON.stringify(name)} already has an allow entry (tools.allow[${first}]); only one entry per tool`,
        });
      }
    }
    for (const key of ['paths_allowlist', 'paths_denylist'] as const) {
      list(entry[key]).forEach((p, j) => {
        const problem = isString(p) ? pathPatternProblem(p) : undefined;
        if (problem !== undefined)
          out.push({ keyPath: `tools.allow[${i}].${key}[${j}]`, message: problem });
      });
    }
  });
  const denied = new Map<string, number>();
  list(tools['deny']).forEach((raw, i) => {
    const name = record(raw)['name'];
    if (!isString(name)) return;
    const allowedAt = allowed.get(name);
    const deniedAt = denied.get(name);
    if (allowedAt !== undefined) {
      out.push({
        keyPath: `tools.deny[${i}].name`,
        message: `tool ${JSON.stringify(name)} is also allowed by tools.allow[${allowedAt}]: a tool is either allowed or denied`,
      });
    } else if (deniedAt !== undefined) {
      out.push({
        keyPath: `tools.deny[${i}].name`,
        message: `tool ${JSON.stringify(name)} is already denied by tools.deny[${deniedAt}]`,
      });
    } else denied.set(name, i);
  });

  list(record(doc['airlock'])['allowed_destinations']).forEach((d, i) => {
    const problem = isString(d) ? destinationProblem(d) : undefined;
    if (problem !== undefined)
      out.push({ keyPath: `airlock.allowed_destinations[${i}]`, message: problem });
  });
  return out;
}

const AGENT_LISTS = ['always_deny', 'hard_approval', 'allowed_tools'] as const;

function agentSemantics(doc: Record<string, unknown>): Issue[] {
  const out: Issue[] = [];
  const workspace = record(doc['workspace']);
  for (const scope of ['readable', 'writable'] as const) {
    list(workspace[scope]).forEach((p, j) => {
      const problem = isString(p) ? pathPatternProblem(p) : undefined;
      if (problem !== undefined)
        out.push({ keyPath: `workspace.${scope}[${j}]`, message: problem });
    });
  }
  // Each action has exactly one verdict: always_deny, hard_approval and allowed_tools are disjoint.
  const firstSeen = new Map<string, string>();
  for (const name of AGENT_LISTS) {
    const own = new Set<string>();
    list(doc[name]).forEach((action, i) => {
      if (!isString(action) || own.has(action)) return;
      own.add(action);
      const elsewhere = firstSeen.get(action);
      if (elsewhere === undefined) firstSeen.set(action, `${name}[${i}]`);
      else {
        out.push({
          keyPath: `${name}[${i}]`,
          message: `${JSON.stringify(action)} is also in ${elsewhere}: always_deny, hard_approval and allowed_tools must not overlap`,
        });
      }
    });
  }
  return out;
}

/**
 * Why a path pattern is refused, or undefined when it is fine: absolute, in normal form (no `.`
 * or `..` segments, no `//`, no trailing `/`), no NUL, control characters or backslashes, and no
 * glob except one trailing `/**`.
 */
export function pathPatternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('/')) return 'a path pattern must be absolute (start with "/")';
  if (hasControl(pattern)) return 'a path pattern must not contain NUL or other control characters';
  if (pattern.includes('\\')) return 'a path pattern must not contain backslashes';
  if (pattern.includes('//')) return 'a path pattern must not contain empty segments ("//")';
  const prefix = pattern.endsWith('/**') ? pattern.slice(0, -3) : pattern;
  if (prefix.includes('*')) return 'only a trailing "/**" glob is allowed in a path pattern';
  const segments = prefix.split('/').slice(1);
  if (segments.includes('..')) return 'a path pattern must not contain ".." segments';
  if (segments.includes('.')) return 'a path pattern must not contain "." segments';
  if (prefix.length > 1 && prefix.endsWith('/')) {
    const bare = prefix.slice(0, -1);
    return `a path pattern must not end with "/": write ${bare} or ${bare}/**`;
  }
  // Last, the matcher's own view (percent escapes, Unicode slash look-alikes …): a policy that
  // loads must never make a matcher throw while deciding.
  try {
    normalizePattern(pattern);
  } catch (err) {
    if (err instanceof InvalidPathPatternError) {
      return `a path pattern the matcher refuses: ${err.refusal} (${err.detail})`;
    }
    throw err;
  }
  return undefined;
}

/**
 * Why an airlock destination is refused, or undefined when it is fine: `https://host[:port][/path]`
 * (no userinfo, query, fragment, dot segments or encoded separators) or a bare host name.
 */
export function destinationProblem(destination: string): string | undefined {
  if (hasControl(destination) || /[\s\\]/u.test(destination)) {
    return 'a destination must not contain whitespace, control characters or backslashes';
  }
  if (destination.includes('*'))
    return 'a destination must not contain wildcards: hosts are matched exactly';
  const schemeEnd = destination.indexOf('://');
  if (schemeEnd < 0) {
    if (/[/:@?#%[\]]/u.test(destination))
      return 'a destination is https://host[:port][/path] or a bare host name';
    try {
      if (new URL(`https://${destination}/`).hostname !== '') return matcherRefusal(destination);
    } catch {
      // reported below
    }
    return `${JSON.stringify(destination)} is not a valid host name`;
  }
  const scheme = destination.slice(0, schemeEnd);
  if (scheme.toLowerCase() !== 'https')
    return `a destination must use https, not ${JSON.stringify(scheme)}`;
  const rest = destination.slice(schemeEnd + 3);
  if (rest.includes('#')) return 'a destination must not have a fragment ("#…")';
  if (rest.includes('?')) return 'a destination must not have a query ("?…")';
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (authority.includes('@')) return 'a destination must not carry userinfo ("user:password@")';
  if (authority === '') return 'a destination must name a host';
  let url: URL;
  try {
    url = new URL(destination);
  } catch {
    return `${JSON.stringify(destination)} is not a valid URL`;
  }
  if (
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.hostname === ''
  ) {
    return 'a destination is https://host[:port][/path] without userinfo, query or fragment';
  }
  if (path.includes('//')) return 'a destination path must not contain empty segments ("//")';
  if (/%(2f|5c|00)/iu.test(path))
    return 'a destination path must not contain encoded "/", "\\" or NUL';
  for (const segment of path.split('/')) {
    const decoded = segment.replace(/%2e/giu, '.');
    if (decoded === '.' || decoded === '..')
      return 'a destination path must not contain "." or ".." segments';
  }
  return matcherRefusal(destination);
}

/** The destination matcher's own view: a policy that loads must never make it throw. */
function matcherRefusal(destination: string): string | undefined {
  try {
    normalizeDestinationEntry(destination);
    return undefined;
  } catch (err) {
    if (err instanceof InvalidDestinationEntryError) {
      return `a destination the matcher refuses: ${err.refusal} (${err.detail})`;
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const record = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
const isString = (v: unknown): v is string => typeof v === 'string';

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

const lower = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

/** `tools.allow[2].name`; keys that are not plain identifiers are quoted: `budgets["a.b"]`. */
function formatKey(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/u.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

function decodePointerSegment(segment: string): string {
  return segment.replace(/~1/gu, '/').replace(/~0/gu, '~');
}

/** JSON pointer (`/tools/allow/0/pathz`) to key path (`tools.allow[0].pathz`), guided by the value. */
function pointerToKeyPath(pointer: string, root: unknown): string {
  if (pointer === '') return '';
  let out = '';
  let cur: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = decodePointerSegment(raw);
    if (Array.isArray(cur) && /^(0|[1-9][0-9]*)$/u.test(segment)) {
      out += `[${segment}]`;
      cur = (cur as unknown[])[Number(segment)];
    } else {
      out = formatKey(out, segment);
      cur = isRecord(cur) && Object.hasOwn(cur, segment) ? cur[segment] : undefined;
    }
  }
  return out;
}

/**
 * Keeps a problem list within what `policy.load.failed` can carry: at most `MAX_PROBLEMS`
 * (the rest summarised) and 512 characters per key path and message.
 */
function capProblems(problems: PolicyProblem[]): PolicyProblem[] {
  const cut = (s: string): string => (s.length > 512 ? `${s.slice(0, 511)}…` : s);
  const clipped = problems.map((p) => ({
    file: p.file,
    keyPath: cut(p.keyPath),
    message: cut(p.message),
  }));
  if (clipped.length <= MAX_PROBLEMS) return clipped;
  const rest = clipped.length - (MAX_PROBLEMS - 1);
  const last = clipped[MAX_PROBLEMS - 1];
  return [
    ...clipped.slice(0, MAX_PROBLEMS - 1),
    { file: last?.file ?? '', keyPath: '', message: `… and ${rest} more problems` },
  ];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

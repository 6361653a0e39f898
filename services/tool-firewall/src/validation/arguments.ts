import { schemaProblems } from '@secai/contracts';
import { jsonTooDeep } from '@secai/streams/http';
import type { ToolAdapter } from '../adapters/types.js';
import { refusal } from '../errors.js';
import { dangerOf } from './names.js';
import { checkPathText } from './pathText.js';

// The shape of a call (the reference's §4.2 step 1 and §4.4), pure: the tool's name, then the
// argument tree walked iteratively (a hostile tree cannot overflow a stack), then the adapter's
// own closed schema, dangerous names and the text of every path argument.

/** The limits of an argument tree (the reference's numbers). */
export const ARGUMENT_LIMITS = {
  maxParams: 128,
  maxKeyBytes: 256,
  maxDepth: 32,
  maxNodes: 10_000,
  maxMembers: 128,
  maxItems: 4096,
} as const;

/** A tool name as policy writes it. */
const TOOL_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Keys: no surrounding whitespace, no control characters. */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const KEY_CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type Arguments = Record<string, unknown>;

const invalid = (code: 'ARGUMENTS_INVALID' | 'TOOL_NAME_INVALID', why: string) =>
  refusal('validation', code, why);

/** The tool name, or the validation refusal. */
export function checkToolName(tool: string): string {
  if (!TOOL_NAME.test(tool))
    throw invalid(
      'TOOL_NAME_INVALID',
      'a tool name is 1 to 128 characters of A-Z a-z 0-9 _ . : - (as policy names tools)',
    );
  return tool;
}

function keyProblem(key: string): string | null {
  if (key.length === 0) return 'an empty key';
  if (Buffer.byteLength(key, 'utf8') > ARGUMENT_LIMITS.maxKeyBytes)
    return `a key longer than ${ARGUMENT_LIMITS.maxKeyBytes} bytes`;
  if (key.trim() !== key) return 'a key with surrounding whitespace';
  if (KEY_CONTROL.test(key)) return 'a key with a control character';
  if (PROTOTYPE_KEYS.has(key)) return `the key ${key}`;
  return null;
}

/**
 * The arguments as an object within the tree limits: depth, nodes, members, items, keys, and a
 * string budget. `undefined` is `{}` (a tool without arguments).
 */
export function checkArgumentTree(value: unknown, maxStringBytes: number): Arguments {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid('ARGUMENTS_INVALID', 'arguments must be a JSON object');
  const top = value as Arguments;
  const keys = Object.keys(top);
  if (keys.length > ARGUMENT_LIMITS.maxParams)
    throw invalid('ARGUMENTS_INVALID', `more than ${ARGUMENT_LIMITS.maxParams} arguments`);
  let nodes = 0;
  const stack: { v: unknown; depth: number }[] = [{ v: top, depth: 1 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (++nodes > ARGUMENT_LIMITS.maxNodes)
      throw invalid('ARGUMENTS_INVALID', `more than ${ARGUMENT_LIMITS.maxNodes} values`);
    if (depth > ARGUMENT_LIMITS.maxDepth)
      throw invalid('ARGUMENTS_INVALID', `nested deeper than ${ARGUMENT_LIMITS.maxDepth} levels`);
    if (typeof v === 'string') {
      if (Buffer.byteLength(v, 'utf8') > maxStringBytes)
        throw invalid('ARGUMENTS_INVALID', `a string longer than ${maxStringBytes} bytes`);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalid('ARGUMENTS_INVALID', 'a number that is not finite');
    } else if (Array.isArray(v)) {
      if (v.length > ARGUMENT_LIMITS.maxItems)
        throw invalid('ARGUMENTS_INVALID', `an array of more than ${ARGUMENT_LIMITS.maxItems}`);
      for (const item of v) stack.push({ v: item, depth: depth + 1 });
    } else if (v !== null && typeof v === 'object') {
      const members = Object.keys(v);
      if (members.length > ARGUMENT_LIMITS.maxMembers)
        throw invalid('ARGUMENTS_INVALID', `an object of more than ${ARGUMENT_LIMITS.maxMembers}`);
      for (const key of members) {
        const problem = keyProblem(key);
        if (problem) throw invalid('ARGUMENTS_INVALID', `arguments hold ${problem}`);
        stack.push({ v: (v as Arguments)[key], depth: depth + 1 });
      }
    } else if (typeof v !== 'boolean' && v !== null) {
      throw invalid('ARGUMENTS_INVALID', 'arguments hold a value JSON cannot carry');
    }
  }
  return top;
}

/**
 * An OpenAI tool call's `arguments`: a JSON text. Its depth is checked on the text, before it is
 * parsed (a parser that recursed would overflow on the text it is asked to refuse).
 */
export function parseArgumentText(text: string): unknown {
  if (text.trim() === '') return {};
  if (jsonTooDeep(text, ARGUMENT_LIMITS.maxDepth))
    throw invalid('ARGUMENTS_INVALID', `nested deeper than ${ARGUMENT_LIMITS.maxDepth} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid('ARGUMENTS_INVALID', 'function.arguments is not JSON');
  }
}

export interface CheckedCall {
  /** Logical paths by argument name, lexically normalised. */
  paths: Map<string, string>;
}

/**
 * The arguments against the adapter's declaration: no undeclared argument (a dangerous name is
 * named as such), every path argument's text, then the closed schema (types, lengths, patterns).
 */
export function checkAdapterArguments(adapter: ToolAdapter, args: Arguments): CheckedCall {
  const declared = adapter.arguments.properties as Record<string, unknown>;
  for (const name of Object.keys(args)) {
    if (Object.hasOwn(declared, name)) continue;
    const danger = dangerOf(name);
    if (danger)
      throw refusal(
        'validation',
        'ARGUMENT_DANGEROUS',
        `${adapter.name} does not declare the ${danger}-like argument "${name.slice(0, 64)}"`,
      );
    throw refusal(
      'validation',
      'ARGUMENT_UNDECLARED',
      `${adapter.name} does not declare an argument "${name.slice(0, 64)}"`,
    );
  }
  const paths = new Map<string, string>();
  for (const p of adapter.paths) {
    const raw = args[p.name];
    if (typeof raw !== 'string') continue; // the schema names what is missing or mistyped
    const text = checkPathText(raw);
    if (!text.ok) throw refusal('validation', text.code, `${p.name} ${text.reason}`);
    paths.set(p.name, text.logical);
  }
  const problems = schemaProblems(adapter.arguments, args);
  if (problems.length > 0)
    throw refusal(
      'validation',
      'ARGUMENT_INVALID',
      `${adapter.name}: ${problems.slice(0, 3).join('; ')}`.slice(0, 512),
    );
  return { paths };
}

import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { schemaErrors } from '../events/validate.js';
import { isRecord, keyPathOf, lastPointerKey, pointerToKeyPath } from './keyPath.js';
import type { DocumentProblem } from './problem.js';

// Schema problems in words an operator can act on: "required key is missing", "unknown key "x"
// (expected one of: a, b)", "expected one of "deny", "allow", got "maybe"", each at its key path.
// TypeBox's error walk gives the wording; ajv (the validator of the contracts) has the last word,
// so nothing it refuses is ever accepted.

/** Every way `value` fails `schema`, as problems with key paths; [] when it satisfies it. */
export function schemaDocumentProblems(schema: TSchema, value: unknown): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  const missing = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    // TypeBox cannot check formats it was not told about; ajv (below) checks them.
    if (e.type === ValueErrorType.StringFormatUnknown || e.type === ValueErrorType.Kind) continue;
    // A missing key also fails its own type check; report it once, as missing.
    if (missing.has(e.path)) continue;
    if (e.type === ValueErrorType.ObjectRequiredProperty) missing.add(e.path);
    problems.push(describeError(e, value));
  }
  if (problems.length > 0) return problems;
  return schemaErrors(schema, value).map((e) => {
    const at = pointerToKeyPath(e.instancePath, value);
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        return {
          path: keyPathOf(at, String(params['missingProperty'])),
          code: 'KEY_MISSING',
          message: 'required key is missing',
        };
      case 'additionalProperties':
        return {
          path: keyPathOf(at, String(params['additionalProperty'])),
          code: 'KEY_UNKNOWN',
          message: `unknown key ${JSON.stringify(params['additionalProperty'])}`,
        };
      case 'type':
        return { path: at, code: 'TYPE_MISMATCH', message: e.message ?? 'wrong type' };
      case 'uniqueItems':
        return { path: at, code: 'DUPLICATE_ENTRY', message: 'entries must be unique' };
      default:
        return { path: at, code: 'VALUE_INVALID', message: e.message ?? 'invalid' };
    }
  });
}

const TYPE_ERRORS = new Set<ValueErrorType>([
  ValueErrorType.Array,
  ValueErrorType.Boolean,
  ValueErrorType.Integer,
  ValueErrorType.Null,
  ValueErrorType.Number,
  ValueErrorType.Object,
  ValueErrorType.String,
]);

function describeError(e: ValueError, root: unknown): DocumentProblem {
  let path = pointerToKeyPath(e.path, root);
  const got = describeValue(e.value);
  const schema = e.schema as Record<string, unknown>;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return { path, code: 'KEY_MISSING', message: 'required key is missing' };
    case ValueErrorType.ObjectAdditionalProperties: {
      const key = lastPointerKey(e.path);
      const allowed = allowedKeys(schema);
      const message = `unknown key ${JSON.stringify(key)}${allowed ? ` (expected one of: ${allowed})` : ''}`;
      return { path, code: 'KEY_UNKNOWN', message };
    }
    case ValueErrorType.Union: {
      const options = Array.isArray(schema['anyOf'])
        ? (schema['anyOf'] as Record<string, unknown>[])
        : [];
      const consts = options.every((o) => 'const' in o)
        ? options.map((o) => JSON.stringify(o['const']))
        : [];
      const message =
        consts.length > 0
          ? `expected one of ${consts.join(', ')}, got ${got}`
          : `${lower(e.message)}, got ${got}`;
      return { path, code: 'VALUE_INVALID', message };
    }
    case ValueErrorType.Literal:
      return {
        path,
        code: 'VALUE_INVALID',
        message: `expected ${JSON.stringify(schema['const'])}, got ${got}`,
      };
    case ValueErrorType.ArrayUniqueItems: {
      const items = Array.isArray(e.value) ? (e.value as unknown[]) : [];
      const seen = new Set<string>();
      const dup = items.findIndex((item) => {
        const c = JSON.stringify(item);
        if (seen.has(c)) return true;
        seen.add(c);
        return false;
      });
      if (dup < 0) return { path, code: 'DUPLICATE_ENTRY', message: 'entries must be unique' };
      path = keyPathOf(path, dup);
      return {
        path,
        code: 'DUPLICATE_ENTRY',
        message: `duplicate entry ${describeValue(items[dup])}: entries must be unique`,
      };
    }
    case ValueErrorType.Object:
      if (path !== '')
        return { path, code: 'TYPE_MISMATCH', message: `expected object, got ${got}` };
      return {
        path,
        code: 'TYPE_MISMATCH',
        message: `expected a mapping at the top of the document, got ${got}`,
      };
    default:
      return {
        path,
        code: TYPE_ERRORS.has(e.type) ? 'TYPE_MISMATCH' : 'VALUE_INVALID',
        message: `${lower(e.message)}, got ${got}`,
      };
  }
}

function allowedKeys(schema: Record<string, unknown>): string | undefined {
  const properties = schema['properties'];
  if (isRecord(properties)) return Object.keys(properties).join(', ');
  const patterns = schema['patternProperties'];
  if (isRecord(patterns)) {
    const pattern = Object.keys(patterns)[0] ?? '';
    const alternatives = /^\^\(([^()]*)\)\$$/u.exec(pattern);
    return alternatives?.[1] !== undefined
      ? alternatives[1].split('|').join(', ')
      : `keys matching ${pattern}`;
  }
  return undefined;
}

const lower = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/** A short, safe description of a value for a message: strings quoted and cut at 60 characters. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

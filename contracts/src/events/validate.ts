import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';

// ajv-formats ships CommonJS with a default export; under NodeNext it arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
// TypeBox annotates schemas with symbols ajv does not know; strict mode only sees string keys.
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** Validates `value` against a TypeBox schema; returns ajv's errors ([] when valid). */
export function schemaErrors(schema: TSchema, value: unknown): ErrorObject[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return validate.errors ?? [];
}

/** Validates `value` against a TypeBox schema; returns every problem as `path: message`. */
export function schemaProblems(schema: TSchema, value: unknown): string[] {
  return schemaErrors(schema, value).map(
    (e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`,
  );
}

import type { EventDefinition } from '../events/index.js';
import { formatSchemaErrors, type SchemaCheck } from '../envelope/rules.js';

/** One Ajv standalone validate function: `errors` holds Ajv's errors after a failed call. */
export type SchemaValidator = ((data: unknown) => boolean) & {
  errors?: readonly { instancePath: string; message?: string }[] | null;
};

/** Event type → validator: the default export of `standaloneValidatorsSource()`'s module. */
export type SchemaValidators = Readonly<Record<string, SchemaValidator>>;

let loaded: SchemaValidators | undefined;

/**
 * Gives the web verifier its schema validators (generated at build time by
 * `@secai/contracts/standalone`: the page's CSP forbids compiling them). Until this is called
 * every schema check fails closed with SCHEMA_INVALID.
 */
export function setSchemaValidators(validators: SchemaValidators | undefined): void {
  loaded = validators;
}

/** The schema check of rules.ts over the given (or loaded) standalone validators. */
export function standaloneSchemaCheck(validators = loaded): SchemaCheck {
  return (definition: EventDefinition, data: unknown) => {
    if (!validators) return ['schema validators are not loaded (setSchemaValidators)'];
    const validate = Object.hasOwn(validators, definition.type)
      ? validators[definition.type]
      : undefined;
    if (!validate) return [`no schema validator is loaded for ${definition.type}`];
    if (validate(data)) return [];
    return formatSchemaErrors(validate.errors ?? []);
  };
}

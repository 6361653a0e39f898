import type { Static, TSchema } from '@sinclair/typebox';

/** One event type of the catalogue: its aggregate, schema version and data schema. */
export interface EventDefinition<Type extends string = string, Schema extends TSchema = TSchema> {
  readonly type: Type;
  /** The aggregate type whose subject carries it: `secai.evt.<aggregate>.<id>`. */
  readonly aggregate: string;
  readonly version: number;
  readonly schema: Schema;
  readonly description: string;
}

export function defineEvent<Type extends string, Schema extends TSchema>(
  type: Type,
  aggregate: string,
  schema: Schema,
  description: string,
  version = 1,
): EventDefinition<Type, Schema> {
  return { type, aggregate, version, schema, description };
}

export type DataOf<D> = D extends EventDefinition<string, infer S> ? Static<S> : never;

/** `urn:secai:event:<type>:v<version>`, carried as the CloudEvent `dataschema`. */
export function dataschemaOf(def: { type: string; version: number }, kind = 'event'): string {
  return `urn:secai:${kind}:${def.type}:v${def.version}`;
}

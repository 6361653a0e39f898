import { Type, type TNull, type TSchema, type TUnion } from '@sinclair/typebox';

/** `T | null`, the way the gateways' bodies say "not known (yet)". */
export function Nullable<T extends TSchema>(schema: T): TUnion<[T, TNull]> {
  return Type.Union([schema, Type.Null()]);
}

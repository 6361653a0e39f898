import { Type } from '@sinclair/typebox';

/** A logical path (`/vault/...`); its text is checked again before anything is asked. */
export const PathArg = (description: string) =>
  Type.String({ minLength: 1, maxLength: 4096, description });

export const closed = { additionalProperties: false } as const;
